//! Email over SMTP (lettre, tokio, rustls): building the multipart message
//! and sending it with bounded retries.

use super::digest::Digest;
use crate::config::NotifySettings;
use anyhow::{bail, Context as _};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Why a message was not delivered.
#[derive(Debug)]
pub enum SendError {
    /// The server refused it for good (5xx: bad recipient, bad credentials);
    /// retrying would not help.
    Rejected(String),
    /// Every attempt failed to connect, timed out or got a 4xx: the server
    /// is likely down, so the other messages of this digest are not tried.
    GaveUp(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Rejected(e) => write!(f, "rejected: {e}"),
            SendError::GaveUp(e) => write!(f, "gave up: {e}"),
        }
    }
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    attempts: u32,
    timeout: Duration,
}

impl Mailer {
    pub fn new(s: &NotifySettings) -> anyhow::Result<Mailer> {
        let tls = match s.smtp_security.as_str() {
            "plain" => Tls::None,
            // Required, never opportunistic: a stripped STARTTLS offer must
            // not make rosterd send credentials in clear.
            "starttls" => Tls::Required(TlsParameters::new(s.smtp_host.clone())?),
            "tls" => Tls::Wrapper(TlsParameters::new(s.smtp_host.clone())?),
            other => bail!("notify.smtp_security: {other:?} (expected plain, starttls or tls)"),
        };
        let timeout = Duration::from_secs(s.smtp_timeout_secs.max(1));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.smtp_host)
            .port(s.smtp_port)
            .tls(tls)
            .timeout(Some(timeout));
        if !s.smtp_username.is_empty() {
            let password = s
                .smtp_password
                .as_ref()
                .map(|p| p.expose().to_string())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(s.smtp_username.clone(), password));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: s
                .from
                .parse()
                .with_context(|| format!("notify.from: {:?} is not an address", s.from))?,
            attempts: s.smtp_attempts.max(1),
            timeout,
        })
    }

    /// The digest as one `multipart/alternative` message (text, then HTML).
    pub fn message(&self, to: &[Mailbox], digest: &Digest) -> anyhow::Result<Message> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(digest.subject());
        for mailbox in to {
            builder = builder.to(mailbox.clone());
        }
        Ok(builder.multipart(MultiPart::alternative_plain_html(
            digest.text(),
            digest.html(),
        ))?)
    }

    /// Send with up to `smtp_attempts` attempts of at most
    /// `smtp_timeout_secs` each, backing off 1 s, 2 s, 4 s… in between.
    pub async fn send(&self, message: &Message) -> Result<(), SendError> {
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            if attempt > 1 {
                let pause = super::backoff(attempt);
                tokio::time::sleep(pause).await;
            }
            // lettre's timeout covers each command; this one bounds the
            // whole exchange.
            match tokio::time::timeout(self.timeout, self.transport.send(message.clone())).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) if e.is_permanent() => return Err(SendError::Rejected(e.to_string())),
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = format!("no answer within {:?}", self.timeout),
            }
            tracing::warn!(attempt, attempts = self.attempts, error = %last, "SMTP send failed");
        }
        Err(SendError::GaveUp(last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_for_every_security_mode_and_refuses_others() {
        for security in ["plain", "starttls", "tls"] {
            let s = NotifySettings {
                smtp_security: security.into(),
                smtp_host: "smtp.example.com".into(),
                ..NotifySettings::default()
            };
            assert!(Mailer::new(&s).is_ok(), "{security}");
        }
        let s = NotifySettings {
            smtp_security: "ssl".into(),
            ..NotifySettings::default()
        };
        assert!(Mailer::new(&s).is_err());
    }
}
