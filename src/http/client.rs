//! Which address a request comes from. Behind a reverse proxy every connection is the proxy's,
//! so the per-address limits (failed sign-ins, API authentication failures, subscriptions) and
//! the session list would see one client. `[http] trusted_proxies` names the proxies; a request
//! whose TCP peer is one of them is attributed to the address the proxy reports in
//! `X-Forwarded-For`: read from the right (each proxy appends the address it saw), skipping
//! the trusted proxies, the first other address is the client. From any other peer the header
//! is ignored, so a client cannot choose its own address.

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The proxies whose `X-Forwarded-For` is believed: addresses and CIDR ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8`, `192.168.1.10`, `::1`, `fd00::/8`; the error names the entry.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        format!(
                            "`{entry}` is not an IP address or a CIDR range (such as 10.0.0.0/8 or 127.0.0.1)"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request whose TCP peer is `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if self.is_empty() || !self.trusts(peer) {
            return peer;
        }
        // Several X-Forwarded-For headers are one list, in order.
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                // A hop that is not an address says nothing beyond it can be believed: the
                // nearest trusted proxy is the client.
                None => break,
                Some(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
            }
        }
        client
    }

    /// The client of a request, from the peer axum recorded; `None` when the server was not
    /// started with peer addresses (tests that call the router directly).
    pub fn client_of(&self, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
        Some(self.client(peer, headers))
    }
}

/// One `X-Forwarded-For` entry: `203.0.113.7`, `2001:db8::1`, and the forms with a port some
/// proxies write (`203.0.113.7:4711`, `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    hop.parse::<SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("127.0.0.1"), &forwarded(&["203.0.113.7"])),
            ip("127.0.0.1")
        );
        let other = TrustedProxies::parse(&["10.0.0.1"]).unwrap();
        assert_eq!(
            other.client(ip("198.51.100.2"), &forwarded(&["203.0.113.7"])),
            ip("198.51.100.2"),
            "an untrusted peer cannot choose its address"
        );
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let proxies = TrustedProxies::parse(&["127.0.0.1", "10.0.0.0/8"]).unwrap();
        let table: &[(&[&str], &str)] = &[
            (&["203.0.113.7"], "203.0.113.7"),
            (&["203.0.113.7, 10.1.2.3"], "203.0.113.7"),
            // The client wrote its own header first: the proxy appended the real address.
            (&["1.1.1.1, 203.0.113.7, 10.1.2.3"], "203.0.113.7"),
            (&["1.1.1.1", "203.0.113.7"], "203.0.113.7"),
            (&["203.0.113.7:4711"], "203.0.113.7"),
            (&["[2001:db8::1]:4711"], "2001:db8::1"),
            (&["2001:db8::1"], "2001:db8::1"),
            (&["::ffff:203.0.113.7"], "203.0.113.7"),
            // Only proxies: the farthest one.
            (&["10.9.9.9, 10.1.2.3"], "10.9.9.9"),
            // Garbage stops the walk at the nearest trusted hop.
            (&["203.0.113.7, unknown"], "127.0.0.1"),
            (&["203.0.113.7, unknown, 10.1.2.3"], "10.1.2.3"),
            (&[], "127.0.0.1"),
        ];
        for (values, client) in table {
            assert_eq!(
                proxies.client(ip("127.0.0.1"), &forwarded(values)),
                ip(client),
                "{values:?}"
            );
        }
        assert_eq!(
            proxies.client(ip("::ffff:127.0.0.1"), &forwarded(&["203.0.113.7"])),
            ip("203.0.113.7"),
            "a dual-stack socket's mapped peer is the IPv4 proxy"
        );
    }

    #[test]
    fn entries_are_addresses_or_ranges() {
        assert!(
            TrustedProxies::parse(&["10.0.0.0/8", " ::1 ", "fd00::/8", "192.168.1.10"]).is_ok()
        );
        let err = TrustedProxies::parse(&["10.0.0.0/8", "proxy.internal"]).unwrap_err();
        assert!(err.contains("`proxy.internal`"), "{err}");
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
    }
}
