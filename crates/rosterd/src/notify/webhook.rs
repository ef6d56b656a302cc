//! JSON webhooks: a generic one (the digest as data) and a Slack-compatible
//! one (`{"text": …}`). Their URLs often carry a token in the path, so logs
//! show only the scheme and host, and reqwest errors lose their URL.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Generic,
    Slack,
}

pub struct Webhook {
    pub shape: Shape,
    url: reqwest::Url,
    /// `https://host`: the loggable part of the URL.
    pub shown: String,
}

impl Webhook {
    /// `None` for an empty setting.
    pub fn parse(setting: &str, key: &str, shape: Shape) -> anyhow::Result<Option<Webhook>> {
        if setting.trim().is_empty() {
            return Ok(None);
        }
        // The parse error would not echo the URL, but say which key anyway.
        let url = reqwest::Url::parse(setting.trim())
            .map_err(|e| anyhow::anyhow!("notify.{key}: not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            anyhow::bail!("notify.{key}: must be an http(s) URL");
        }
        let shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
        Ok(Some(Webhook { shape, url, shown }))
    }

    /// POST `body`, retrying network errors, timeouts, 429 and 5xx; a other
    /// 4xx is final. Errors never contain the URL.
    pub async fn post(
        &self,
        client: &reqwest::Client,
        body: &Value,
        attempts: u32,
    ) -> Result<(), PostError> {
        let attempts = attempts.max(1);
        let mut attempt = 1;
        loop {
            let failed = match client.post(self.url.clone()).json(body).send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => {
                    let status = r.status();
                    if status.is_client_error() && status.as_u16() != 429 {
                        return Err(PostError::Status(status));
                    }
                    PostError::Status(status)
                }
                Err(e) => PostError::Transport(e.without_url()),
            };
            tracing::warn!(attempt, attempts, webhook = %self.shown, error = %failed, "webhook post failed");
            if attempt == attempts {
                return Err(failed);
            }
            attempt += 1;
            tokio::time::sleep(super::backoff(attempt)).await;
        }
    }
}

/// Why a webhook post failed; never names the URL (it may hold a token).
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("HTTP {0}")]
    Status(reqwest::StatusCode),
    #[error(transparent)]
    Transport(reqwest::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_only_scheme_and_host() {
        let w = Webhook::parse(
            "https://hooks.slack.com/services/T000/B000/secret-token",
            "slack_webhook_url",
            Shape::Slack,
        )
        .unwrap()
        .unwrap();
        assert_eq!(w.shown, "https://hooks.slack.com");
        assert!(Webhook::parse(" ", "webhook_url", Shape::Generic)
            .unwrap()
            .is_none());
        let err = Webhook::parse("ftp://x/secret", "webhook_url", Shape::Generic)
            .err()
            .unwrap();
        assert!(!err.to_string().contains("secret"));
    }
}
