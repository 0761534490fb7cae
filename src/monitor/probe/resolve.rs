//! Name resolution for probes that connect to a host: HTTP, TCP and TLS checks. An IP
//! literal is used as is; a name is looked up with the system's resolver configuration.

use std::net::{IpAddr, SocketAddr};

/// The addresses of `host` at `port`, or a message saying why there are none.
pub async fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    match tokio::net::lookup_host((bare, port)).await {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(format!("{bare} has no address"))
            } else {
                Ok(addrs)
            }
        }
        Err(err) => Err(format!("{bare} did not resolve: {err}")),
    }
}
