//! Email through an SMTP relay (lettre, rustls), over a pool of connections that are reused
//! from one message to the next.
//!
//! One message per target: `From` from `[notifications.smtp] from`, the target's addresses
//! in `To`, `Subject` = the title, a `multipart/alternative` body (text and HTML), a
//! `Message-ID` built from the delivery's idempotency key (so a retried delivery is the same
//! message to the receiving side), `List-Unsubscribe` with `List-Unsubscribe-Post:
//! List-Unsubscribe=One-Click` (RFC 8058) when the envelope has an unsubscribe link, and
//! `Auto-Submitted: auto-generated` (RFC 3834) so vacation responders stay quiet.
//!
//! The relay's 5xx replies are permanent; 4xx replies, timeouts, TLS and connection failures
//! are transient.
//!
//! ## The pool
//!
//! The pool is ours, over lettre's `AsyncSmtpConnection`, rather than lettre's own: that
//! one bounds only the *idle* connections, opens a new one whenever none is idle, and puts a
//! used connection back from a task of its own, so a burst opened (and closed) far more
//! connections than relays allow, and even one send after another could land on a new
//! connection. Here at most `pool_size` messages are in flight, each on a connection of its
//! own; a connection goes back to the idle list before the next message may start, is
//! checked with `NOOP` before reuse, and is closed after [`IDLE_TIMEOUT`] unused.

use super::{Envelope, Receipt, SendError};
use crate::config::{SmtpSecurity, SmtpSettings};
use crate::notify::message::{Message, PageContext};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an unused connection is kept. Relays drop idle clients after a few minutes
/// (Postfix: 300 s); closing first avoids finding out with a failed `NOOP`.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// How the connection is secured, with the TLS parameters it needs.
enum Security {
    StartTls(TlsParameters),
    Wrapper(TlsParameters),
    None,
}

/// The pooled SMTP connections and the sender's mailbox.
pub(super) struct Mailer {
    host: String,
    port: u16,
    timeout: Duration,
    hello: ClientId,
    security: Security,
    credentials: Option<Credentials>,
    /// At most `pool_size` messages in flight, so at most that many connections.
    in_flight: tokio::sync::Semaphore,
    /// Connections not in use, with the time each was put back. A std mutex: it is never
    /// held across an await.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    from: Mailbox,
    password: Option<String>,
}

impl Mailer {
    pub(super) fn new(settings: &SmtpSettings, timeout: Duration) -> Result<Mailer, String> {
        let from: Mailbox = settings.from.parse().map_err(|err| {
            format!(
                "notifications.smtp.from: `{}` is not a mailbox ({err})",
                settings.from
            )
        })?;
        let tls = || {
            TlsParameters::builder(settings.host.clone())
                .dangerous_accept_invalid_certs(settings.accept_invalid_certs)
                .build_rustls()
                .map_err(|err| format!("cannot set up TLS for the SMTP relay: {err}"))
        };
        let security = match settings.security {
            SmtpSecurity::StartTls => Security::StartTls(tls()?),
            SmtpSecurity::Tls => Security::Wrapper(tls()?),
            SmtpSecurity::None => Security::None,
        };
        let credentials = match (&settings.username, &settings.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.clone())),
            _ => None,
        };
        Ok(Mailer {
            host: settings.host.clone(),
            port: settings.port,
            timeout,
            // The sender's domain names this client in EHLO, as relays expect a name, not
            // "localhost".
            hello: ClientId::Domain(from.email.domain().to_string()),
            security,
            credentials,
            in_flight: tokio::sync::Semaphore::new(settings.pool_size.max(1) as usize),
            idle: Mutex::new(Vec::new()),
            from,
            password: settings.password.clone(),
        })
    }

    pub(super) fn secrets(&self) -> Vec<String> {
        self.password.iter().cloned().collect()
    }

    /// A new connection: TCP, TLS (at once or after STARTTLS), EHLO and AUTH.
    async fn connect(&self) -> Result<AsyncSmtpConnection, lettre::transport::smtp::Error> {
        let wrapper = match &self.security {
            Security::Wrapper(tls) => Some(tls.clone()),
            _ => None,
        };
        let mut conn = match wrapper {
            // Implicit TLS: lettre connects and wraps the stream itself.
            Some(tls) => {
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(self.timeout),
                    &self.hello,
                    Some(tls),
                    None,
                )
                .await?
            }
            // Plain and STARTTLS: our own TCP stream with Nagle's algorithm off. lettre
            // writes a message's body and its terminating dot in separate writes; with Nagle
            // on, the dot waits for the relay's delayed ACK, about 40 ms per message.
            None => {
                let connected = tokio::time::timeout(
                    self.timeout,
                    tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
                )
                .await;
                match connected {
                    Ok(Ok(stream)) => {
                        let _ = stream.set_nodelay(true);
                        AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                            .await?
                    }
                    // Failed: let lettre connect again, for an error it classifies.
                    _ => {
                        AsyncSmtpConnection::connect_tokio1(
                            (self.host.as_str(), self.port),
                            Some(self.timeout),
                            &self.hello,
                            None,
                            None,
                        )
                        .await?
                    }
                }
            }
        };
        if let Security::StartTls(tls) = &self.security {
            conn.starttls(tls.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(conn)
    }

    /// An idle connection that still answers, or a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, lettre::transport::smtp::Error> {
        loop {
            let parked = {
                let mut idle = self.idle.lock().expect("idle connections");
                // Connections unused for too long are closed (dropped), not tested.
                idle.retain(|(_, since)| since.elapsed() < IDLE_TIMEOUT);
                idle.pop()
            };
            match parked {
                Some((mut conn, _)) => {
                    if conn.test_connected().await {
                        return Ok(conn);
                    }
                    conn.abort().await;
                }
                None => return self.connect().await,
            }
        }
    }

    pub(super) async fn send(
        &self,
        to: &[String],
        message: &Message,
        envelope: &Envelope,
        page: &PageContext,
        now: std::time::SystemTime,
    ) -> Result<Receipt, SendError> {
        let email = build(&self.from, to, message, envelope, page, now)?;
        let _slot = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| SendError::transient("the mailer is shutting down"))?;
        let mut conn = self.checkout().await.map_err(|err| classify(&err))?;
        let sent = conn.send(email.envelope(), &email.formatted()).await;
        // A refused message leaves lettre's connection closed (`has_broken`); a good one
        // goes back before the slot is released, so the next message finds it.
        if !conn.has_broken() {
            self.idle
                .lock()
                .expect("idle connections")
                .push((conn, Instant::now()));
        }
        match sent {
            Ok(response) => Ok(Receipt {
                status: response.code().to_string().parse().ok(),
                response: super::start_of(
                    format!(
                        "{} {}",
                        response.code(),
                        response.message().collect::<Vec<_>>().join(" ")
                    )
                    .as_bytes(),
                ),
            }),
            Err(err) => Err(classify(&err)),
        }
    }
}

/// An SMTP failure in words: 5xx permanent, everything else transient.
fn classify(err: &lettre::transport::smtp::Error) -> SendError {
    let status = err
        .status()
        .and_then(|code| code.to_string().parse::<u16>().ok());
    let text = super::start_of(err.to_string().as_bytes());
    let mut out = if err.is_permanent() {
        SendError::permanent(format!("mail server refused the message: {text}"))
    } else if err.is_transient() {
        SendError::transient(format!("mail server deferred the message: {text}"))
    } else if err.is_timeout() {
        SendError::transient("no answer from the mail server in time")
    } else if err.is_tls() {
        SendError::transient(format!("TLS with the mail server failed: {text}"))
    } else if err.is_client() {
        SendError::permanent(format!("the message cannot be sent: {text}"))
    } else {
        SendError::transient(format!("cannot talk to the mail server: {text}"))
    };
    out.status = status;
    out
}

/// The `Message-ID`: `<{idempotency key}@{host of the page URL}>`, the key reduced to the
/// characters a message id may hold.
pub fn message_id(page: &PageContext, envelope: &Envelope) -> String {
    let host = url::Url::parse(&page.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .filter(|h| !h.is_empty() && !h.starts_with('['))
        .unwrap_or_else(|| "pharos.invalid".into());
    let key: String = envelope
        .idempotency_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '=') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let key = if key.is_empty() { "pharos".into() } else { key };
    format!("<{key}@{host}>")
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// The email for `message` to `to`.
pub fn build(
    from: &Mailbox,
    to: &[String],
    message: &Message,
    envelope: &Envelope,
    page: &PageContext,
    now: std::time::SystemTime,
) -> Result<lettre::Message, SendError> {
    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .subject(message.title.clone())
        .message_id(Some(message_id(page, envelope)))
        .date(now)
        .raw_header(header("Auto-Submitted", "auto-generated".into()));
    for address in to {
        let address = address.trim().parse::<lettre::Address>().map_err(|err| {
            SendError::permanent(format!("`{address}` is not an email address ({err})"))
        })?;
        builder = builder.to(Mailbox::new(None, address));
    }
    if let Some(url) = &envelope.unsubscribe_url {
        builder = builder
            .raw_header(header("List-Unsubscribe", format!("<{url}>")))
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            text_body(message, envelope, page),
            html_body(message, envelope, page),
        ))
        .map_err(|err| SendError::permanent(format!("cannot build the email: {err}")))
}

/// The text part: the message's text, then the acknowledgement and unsubscribe links.
pub fn text_body(message: &Message, envelope: &Envelope, page: &PageContext) -> String {
    let mut text = message.text.clone();
    if let Some(ack) = &envelope.ack_url {
        text.push_str(&format!("\n\nAcknowledge: {ack}"));
    }
    if let Some(url) = &envelope.unsubscribe_url {
        text.push_str(&format!(
            "\n\n--\nYou receive this because you subscribed to {}. Unsubscribe: {url}",
            page.name
        ));
    }
    text
}

/// The HTML part: a small self-contained document around the message's sanitised HTML.
pub fn html_body(message: &Message, envelope: &Envelope, page: &PageContext) -> String {
    let esc = |t: &str| html_escape::encode_text(t).into_owned();
    let attr = |t: &str| html_escape::encode_double_quoted_attribute(t).into_owned();
    let mut html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title></head>\n\
         <body style=\"margin:0;padding:24px;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;line-height:1.5;color:#1f2328\">\n\
         <div style=\"max-width:640px;margin:0 auto\">\n\
         <p style=\"margin:0 0 16px;color:#59636e;font-size:14px\">{}</p>\n{}\n",
        esc(&message.title),
        esc(&page.name),
        message.html
    );
    if let Some(ack) = &envelope.ack_url {
        html.push_str(&format!(
            "<p style=\"margin:24px 0\"><a href=\"{}\" style=\"background:#0b57d0;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none\">Acknowledge</a></p>\n",
            attr(ack)
        ));
    }
    if let Some(url) = &envelope.unsubscribe_url {
        html.push_str(&format!(
            "<hr style=\"border:0;border-top:1px solid #d1d9e0;margin:24px 0 12px\">\n\
             <p style=\"font-size:12px;color:#59636e\">You receive this because you subscribed to {}. <a href=\"{}\">Unsubscribe</a></p>\n",
            esc(&page.name),
            attr(url)
        ));
    }
    html.push_str("</div></body></html>\n");
    html
}
