//! The one HTTP client: timeouts, user agent, retries with backoff and jitter for
//! connection errors, 5xx and 429 (honouring `Retry-After`), and errors that name
//! the method, the URL and the start of the body, never a credential.
//!
//! Only idempotent requests are retried here. A POST is sent once; its caller
//! decides how to find out whether it took effect before sending it again.

use crate::config::Secret;
use rand::Rng;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use std::time::{Duration, Instant};

/// How often and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No new attempt starts after this much time since the first.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The default, with the base delay taken from `PKGSYNC_RETRY_BASE_MS` when set
    /// (tests set it low so fault scenarios run in milliseconds).
    pub fn from_env() -> Self {
        let mut policy = Self::default();
        if let Some(ms) = std::env::var("PKGSYNC_RETRY_BASE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            policy.base_delay = Duration::from_millis(ms);
            policy.max_delay = policy
                .max_delay
                .min(Duration::from_millis(ms.saturating_mul(20)).max(Duration::from_millis(ms)));
        }
        policy
    }

    /// Exponential backoff with full jitter, or the server's `Retry-After`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(Duration::from_secs(120));
        }
        let exp = self.base_delay.saturating_mul(1u32 << attempt.min(16));
        let cap = exp.min(self.max_delay);
        if cap.is_zero() {
            return cap;
        }
        let millis = rand::rng().random_range(cap.as_millis() as u64 / 2..=cap.as_millis() as u64);
        Duration::from_millis(millis)
    }
}

/// Credentials for one request.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Basic {
        user: String,
        password: Secret,
    },
    /// Packagecloud style: the token as user name, an empty password.
    Token(Secret),
}

impl Auth {
    fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Auth::None => request,
            Auth::Basic { user, password } => request.basic_auth(user, Some(password.expose())),
            Auth::Token(token) => request.basic_auth(token.expose(), Some("")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("`{method} {url}` failed: {reason}")]
    Transport {
        method: Method,
        url: String,
        reason: String,
    },
    #[error("`{method} {url}` answered {status}{}", body_excerpt(.body))]
    Status {
        method: Method,
        url: String,
        status: StatusCode,
        body: String,
    },
}

impl HttpError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::Transport { .. } => None,
        }
    }
}

fn body_excerpt(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let mut excerpt: String = body.chars().take(300).collect();
    if excerpt.len() < body.len() {
        excerpt.push('…');
    }
    format!(": {excerpt}")
}

/// Hides user info in a URL before it goes into a message.
pub fn mask_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if !parsed.username().is_empty() || parsed.password().is_some() {
                let _ = parsed.set_username("***");
                let _ = parsed.set_password(None);
            }
            parsed.to_string()
        }
        Err(_) => "(unparsable URL)".to_string(),
    }
}

/// Describes a transport error without its URL (that is shown separately, masked).
fn transport_reason(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the response body was cut short"
    } else {
        "the connection failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = Vec::new();
    while let Some(e) = source {
        detail.push(e.to_string());
        source = e.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({})", detail.join(": "))
    }
}

fn retryable_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// The server's `Retry-After`, in seconds form.
pub fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    pub retry: RetryPolicy,
}

impl HttpClient {
    pub fn new(retry: RetryPolicy) -> Self {
        let read_timeout = std::env::var("PKGSYNC_READ_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis)
            .unwrap_or(Duration::from_secs(120));
        let client = reqwest::Client::builder()
            .user_agent(concat!("pkgsync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(read_timeout)
            .build()
            .expect("the TLS backend initialises");
        Self { client, retry }
    }

    pub fn request(&self, method: Method, url: &str, auth: &Auth) -> RequestBuilder {
        auth.apply(self.client.request(method, url))
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry policy is
    /// spent (in count, or in time: no wait may end past `max_elapsed`). The one
    /// retry loop: everything retried goes through here, never nested.
    pub async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T, HttpError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AttemptError>>,
    {
        let started = Instant::now();
        let mut failures = 0;
        loop {
            let (error, server_wait) = match attempt().await {
                Ok(value) => return Ok(value),
                Err(AttemptError::Final(error)) => return Err(error),
                Err(AttemptError::Retry(error, wait)) => (error, wait),
            };
            failures += 1;
            let delay = self.retry.delay(failures, server_wait);
            if failures >= self.retry.max_attempts
                || started.elapsed() + delay > self.retry.max_elapsed
            {
                return Err(error);
            }
            log_retry(&error, failures);
            tokio::time::sleep(delay).await;
        }
    }

    /// One request. Transport errors, 5xx and 429 come back as
    /// [`AttemptError::Retry`] (with the server's `Retry-After`); any other status
    /// is returned for the caller to interpret.
    pub async fn send_once(
        &self,
        method: Method,
        url: &str,
        auth: &Auth,
        customise: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, AttemptError> {
        match customise(self.request(method.clone(), url, auth))
            .send()
            .await
        {
            Ok(response) if !retryable_status(response.status()) => Ok(response),
            Ok(response) => {
                let wait = retry_after(&response);
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                let error = HttpError::Status {
                    method,
                    url: mask_url(url),
                    status,
                    body,
                };
                Err(AttemptError::Retry(error, wait))
            }
            Err(e) => Err(AttemptError::Retry(
                HttpError::Transport {
                    method,
                    url: mask_url(url),
                    reason: transport_reason(&e),
                },
                None,
            )),
        }
    }

    /// Sends an idempotent request with retries. Statuses other than 5xx and 429
    /// are returned for the caller to interpret.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        auth: &Auth,
        customise: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Response, HttpError> {
        self.with_retries(|| self.send_once(method.clone(), url, auth, &customise))
            .await
    }

    /// GET a whole body as text, retrying also when the body is cut short.
    /// Non-success statuses become [`HttpError::Status`].
    pub async fn get_text(
        &self,
        url: &str,
        auth: &Auth,
    ) -> Result<(reqwest::header::HeaderMap, String), HttpError> {
        self.with_retries(|| async {
            let response = self.send_once(Method::GET, url, auth, |r| r).await?;
            let status = response.status();
            let headers = response.headers().clone();
            match response.text().await {
                Ok(body) if status.is_success() => Ok((headers, body)),
                Ok(body) => Err(AttemptError::Final(HttpError::Status {
                    method: Method::GET,
                    url: mask_url(url),
                    status,
                    body,
                })),
                Err(e) => Err(AttemptError::Retry(
                    HttpError::Transport {
                        method: Method::GET,
                        url: mask_url(url),
                        reason: transport_reason(&e),
                    },
                    None,
                )),
            }
        })
        .await
    }
}

/// How one attempt failed: worth another (after the server's wait, if it named
/// one), or final.
#[derive(Debug)]
pub enum AttemptError {
    Retry(HttpError, Option<Duration>),
    Final(HttpError),
}

/// Retries are worth a line in verbose logs; `PKGSYNC_LOG_RETRIES=1` shows them.
fn log_retry(error: &HttpError, attempt: u32) {
    if std::env::var_os("PKGSYNC_LOG_RETRIES").is_some() {
        eprintln!("retry {attempt}: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_credentials_in_urls() {
        let masked = mask_url("https://user:pw@example.com/a?b=c");
        assert!(!masked.contains("pw"), "{masked}");
        assert!(!masked.contains("user:"), "{masked}");
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_elapsed: Duration::from_secs(60),
        };
        for attempt in 0..12 {
            assert!(policy.delay(attempt, None) <= Duration::from_millis(1000));
        }
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
    }
}
