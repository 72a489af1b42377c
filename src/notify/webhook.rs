//! Posting to a webhook, shared by rating notifications and scheduled
//! deliveries ([`crate::deliver`]): one HTTP client setup, one reading of
//! a refusal, one retry pause.

use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The longest pause between retries of a failing target.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// An HTTP client whose requests give up after `timeout` (a hung webhook
/// must not hold a round forever).
pub fn client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("oko/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot set up the webhook client")
}

/// The pause before the next try after `failures` failed ones in a row:
/// 2 s, 4 s, 8 s … up to [`MAX_BACKOFF`].
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1 << failures.clamp(1, 9)).min(MAX_BACKOFF)
}

/// Posts `body` to `url`; anything but a 2xx answer is an error that
/// quotes the start of the answer (why the receiver refused).
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Result<()> {
    let mut request = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await?;
    let status = response.status();
    if !status.is_success() {
        // The start of the answer says why; the rest is not read.
        let mut response = response;
        let mut head = Vec::new();
        while head.len() < 1024 {
            match response.chunk().await {
                Ok(Some(chunk)) => head.extend_from_slice(&chunk),
                _ => break,
            }
        }
        let text = String::from_utf8_lossy(&head);
        bail!(
            "the webhook answered {status}: {}",
            text.chars().take(200).collect::<String>()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
