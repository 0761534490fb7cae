//! A small SMTP server on 127.0.0.1 that accepts mail and keeps it for assertions: EHLO/HELO,
//! optional AUTH PLAIN and LOGIN, MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT;
//! STARTTLS or implicit TLS with a self-signed certificate made by rcgen; a mode that answers
//! 550 to RCPT or 451 to DATA. It counts connections (to prove reuse) and messages, and is
//! cheap enough per message to take 100,000 of them (set `keep: false` to count only).
//!
//! It speaks the real protocol to a real client (lettre), so it is not a mock: it only stands
//! in for a mail relay, which cannot run here.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// How connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// No TLS at all.
    Plain,
    /// Plain, with STARTTLS offered (and required before AUTH and MAIL).
    StartTls,
    /// TLS from the first byte (SMTPS).
    Implicit,
}

/// What the sink refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    None = 0,
    /// `550 5.1.1` to every RCPT.
    RejectRecipients = 1,
    /// `451 4.3.0` after DATA.
    DeferData = 2,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub security: Security,
    /// Required credentials (AUTH PLAIN or LOGIN) before MAIL.
    pub auth: Option<(String, String)>,
    /// Keep every message (false: count only, for benchmarks).
    pub keep: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            security: Security::Plain,
            auth: None,
            keep: true,
        }
    }
}

/// One message as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent after DATA, dot-unstuffed, with CRLF line ends.
    pub data: Vec<u8>,
    /// Whether the connection was encrypted when the message came.
    pub tls: bool,
    /// The user that authenticated, if any.
    pub user: Option<String>,
    /// The connection it came on, numbered from 1.
    pub connection: usize,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// A header's (unfolded) value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let text = self.text();
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(value) = found.as_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if found.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                if n.eq_ignore_ascii_case(name) {
                    found = Some(v.trim().to_string());
                }
            }
        }
        found
    }
}

struct Shared {
    options: Options,
    tls: TlsAcceptor,
    failure: AtomicU8,
    connections: AtomicUsize,
    count: AtomicUsize,
    messages: Mutex<Vec<Received>>,
    arrived: tokio::sync::Notify,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start(options: Options) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            options,
            tls: acceptor(),
            failure: AtomicU8::new(Failure::None as u8),
            connections: AtomicUsize::new(0),
            count: AtomicUsize::new(0),
            messages: Mutex::new(Vec::new()),
            arrived: tokio::sync::Notify::new(),
        });
        let state = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                tokio::spawn(async move {
                    let n = state.connections.fetch_add(1, Ordering::SeqCst) + 1;
                    let _ = serve(stream, &state, n).await;
                });
            }
        });
        SmtpSink { addr, shared, task }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn set_failure(&self, failure: Failure) {
        self.shared.failure.store(failure as u8, Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Messages accepted so far.
    pub fn count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages have been accepted, or panics after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.shared.arrived.notified();
            if self.count() >= n {
                return self.messages();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "the SMTP sink got {} of {n} messages within {within:?}",
                    self.count()
                );
            }
        }
    }
}

fn acceptor() -> TlsAcceptor {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("a self-signed certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .expect("a server certificate");
    TlsAcceptor::from(Arc::new(config))
}

/// A TCP stream that asks the kernel to acknowledge what arrives at once.
///
/// Clients that write a message and its end marker (`\r\n.\r\n`) in two writes without
/// `TCP_NODELAY` (lettre does) hold the marker back until the message is acknowledged
/// (Nagle), while a server that has nothing to answer yet delays that acknowledgement
/// (about 40 ms on Linux): 40 ms per message. Real relays may do the same; the sink must
/// not, or a benchmark would measure that wait instead of the sender.
struct QuickAck(tokio::net::TcpStream);

impl QuickAck {
    fn quick_ack(&self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let one: libc::c_int = 1;
            // SAFETY: a valid socket descriptor and a pointer to a live c_int of the size
            // given; the kernel copies the value and keeps no pointer.
            unsafe {
                libc::setsockopt(
                    self.0.as_raw_fd(),
                    libc::IPPROTO_TCP,
                    libc::TCP_QUICKACK,
                    &one as *const libc::c_int as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                );
            }
        }
    }
}

impl AsyncRead for QuickAck {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // Linux leaves quick-ack mode on its own; set it again before every wait for data.
        this.quick_ack();
        Pin::new(&mut this.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    shared: &Shared,
    connection: usize,
) -> io::Result<()> {
    let stream = QuickAck(stream);
    match shared.options.security {
        Security::Implicit => {
            let tls = shared.tls.accept(stream).await?;
            session(tls, shared, connection, true).await?;
        }
        Security::Plain | Security::StartTls => {
            if let Some(plain) = session(stream, shared, connection, false).await? {
                let tls = shared.tls.accept(plain).await?;
                session(tls, shared, connection, true).await?;
            }
        }
    }
    Ok(())
}

/// One SMTP session on `stream`. Returns the stream when the client asked for STARTTLS (the
/// caller continues on TLS, with a fresh session as RFC 3207 requires), else None.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    shared: &Shared,
    connection: usize,
    tls: bool,
) -> io::Result<Option<S>> {
    let mut io = BufReader::with_capacity(16 * 1024, stream);
    let implicit_or_plain_greeting = !tls || shared.options.security == Security::Implicit;
    if implicit_or_plain_greeting {
        reply(&mut io, "220 sink.test ESMTP ready\r\n").await?;
    }
    let starttls_offered = shared.options.security == Security::StartTls && !tls;
    let mut user: Option<String> = None;
    let mut from: Option<String> = None;
    let mut rcpt: Vec<String> = Vec::new();
    let mut line = Vec::with_capacity(512);
    loop {
        line.clear();
        if io.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, rest) = match text.split_once(' ') {
            Some((v, r)) => (v.to_ascii_uppercase(), r.trim()),
            None => (text.to_ascii_uppercase(), ""),
        };
        match verb.as_str() {
            "EHLO" => {
                let mut out = String::from("250-sink.test greets you\r\n");
                if starttls_offered {
                    out.push_str("250-STARTTLS\r\n");
                }
                if shared.options.auth.is_some() && !starttls_offered {
                    out.push_str("250-AUTH PLAIN LOGIN\r\n");
                }
                out.push_str("250-SIZE 52428800\r\n250 8BITMIME\r\n");
                reply(&mut io, &out).await?;
            }
            "HELO" => reply(&mut io, "250 sink.test\r\n").await?,
            "STARTTLS" => {
                if starttls_offered {
                    reply(&mut io, "220 2.0.0 Ready to start TLS\r\n").await?;
                    return Ok(Some(io.into_inner()));
                }
                reply(&mut io, "502 5.5.1 STARTTLS not available\r\n").await?;
            }
            "AUTH" => {
                let Some((want_user, want_pass)) = &shared.options.auth else {
                    reply(&mut io, "502 5.5.1 AUTH not available\r\n").await?;
                    continue;
                };
                let (mechanism, initial) = match rest.split_once(' ') {
                    Some((m, i)) => (m.to_ascii_uppercase(), Some(i.to_string())),
                    None => (rest.to_ascii_uppercase(), None),
                };
                let credentials = match mechanism.as_str() {
                    "PLAIN" => {
                        let encoded = match initial {
                            Some(i) => i,
                            None => {
                                reply(&mut io, "334 \r\n").await?;
                                read_line(&mut io).await?
                            }
                        };
                        decode(&encoded).and_then(|raw| {
                            let mut parts = raw.split('\0');
                            let _authzid = parts.next()?;
                            Some((parts.next()?.to_string(), parts.next()?.to_string()))
                        })
                    }
                    "LOGIN" => {
                        let name = match initial {
                            Some(i) => i,
                            None => {
                                reply(&mut io, "334 VXNlcm5hbWU6\r\n").await?;
                                read_line(&mut io).await?
                            }
                        };
                        reply(&mut io, "334 UGFzc3dvcmQ6\r\n").await?;
                        let pass = read_line(&mut io).await?;
                        decode(&name).zip(decode(&pass))
                    }
                    _ => {
                        reply(&mut io, "504 5.5.4 Unrecognized authentication type\r\n").await?;
                        continue;
                    }
                };
                match credentials {
                    Some((u, p)) if &u == want_user && &p == want_pass => {
                        user = Some(u);
                        reply(&mut io, "235 2.7.0 Authentication successful\r\n").await?;
                    }
                    _ => reply(&mut io, "535 5.7.8 Authentication credentials invalid\r\n").await?,
                }
            }
            "MAIL" => {
                if starttls_offered {
                    reply(&mut io, "530 5.7.0 Must issue a STARTTLS command first\r\n").await?;
                } else if shared.options.auth.is_some() && user.is_none() {
                    reply(&mut io, "530 5.7.0 Authentication required\r\n").await?;
                } else {
                    from = Some(address(rest));
                    rcpt.clear();
                    reply(&mut io, "250 2.1.0 Ok\r\n").await?;
                }
            }
            "RCPT" => {
                if from.is_none() {
                    reply(&mut io, "503 5.5.1 Need MAIL first\r\n").await?;
                } else if shared.failure.load(Ordering::SeqCst) == Failure::RejectRecipients as u8 {
                    reply(
                        &mut io,
                        "550 5.1.1 Recipient address rejected: User unknown in local recipient table\r\n",
                    )
                    .await?;
                } else {
                    rcpt.push(address(rest));
                    reply(&mut io, "250 2.1.5 Ok\r\n").await?;
                }
            }
            "DATA" => {
                if rcpt.is_empty() {
                    reply(&mut io, "554 5.5.1 No valid recipients\r\n").await?;
                    continue;
                }
                reply(&mut io, "354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = Vec::with_capacity(8 * 1024);
                loop {
                    line.clear();
                    if io.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(None);
                    }
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    // Dot-unstuffing: a line the client started with ".." began with ".".
                    let start = usize::from(line.first() == Some(&b'.'));
                    data.extend_from_slice(&line[start..]);
                }
                if shared.failure.load(Ordering::SeqCst) == Failure::DeferData as u8 {
                    reply(&mut io, "451 4.3.0 Temporary failure, try again later\r\n").await?;
                } else {
                    let n = shared.count.load(Ordering::SeqCst) + 1;
                    if shared.options.keep {
                        shared.messages.lock().unwrap().push(Received {
                            mail_from: from.clone().unwrap_or_default(),
                            rcpt_to: std::mem::take(&mut rcpt),
                            data,
                            tls,
                            user: user.clone(),
                            connection,
                        });
                    }
                    shared.count.fetch_add(1, Ordering::SeqCst);
                    shared.arrived.notify_waiters();
                    reply(&mut io, &format!("250 2.0.0 Ok: queued as M{n}\r\n")).await?;
                }
                from = None;
                rcpt.clear();
            }
            "RSET" => {
                from = None;
                rcpt.clear();
                reply(&mut io, "250 2.0.0 Ok\r\n").await?;
            }
            "NOOP" => reply(&mut io, "250 2.0.0 Ok\r\n").await?,
            "QUIT" => {
                reply(&mut io, "221 2.0.0 Bye\r\n").await?;
                let _ = io.get_mut().shutdown().await;
                return Ok(None);
            }
            _ => reply(&mut io, "502 5.5.2 Command not recognized\r\n").await?,
        }
    }
}

async fn reply<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    text: &str,
) -> io::Result<()> {
    let stream = io.get_mut();
    stream.write_all(text.as_bytes()).await?;
    stream.flush().await
}

async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(io: &mut BufReader<S>) -> io::Result<String> {
    let mut line = String::new();
    io.read_line(&mut line).await?;
    Ok(line.trim_end().to_string())
}

fn decode(text: &str) -> Option<String> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()?;
    String::from_utf8(raw).ok()
}

/// `FROM:<a@b> SIZE=123` → `a@b`.
fn address(rest: &str) -> String {
    let after = rest.split_once(':').map(|(_, a)| a).unwrap_or(rest).trim();
    let inner = after
        .strip_prefix('<')
        .and_then(|a| a.split_once('>'))
        .map(|(a, _)| a)
        .unwrap_or_else(|| after.split_whitespace().next().unwrap_or(""));
    inner.to_string()
}
