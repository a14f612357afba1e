//! The one HTTP client: timeouts, user agent, retries with backoff and jitter for
//! connection errors, 5xx and 429 (honouring `Retry-After`), and errors that name
//! the method, the URL and the start of the body, never a credential.
//!
//! Only idempotent requests are retried here. A POST is sent once; its caller
//! decides how to find out whether it took effect before sending it again.
//!
//! No read is unbounded: a metadata body has a size limit and a deadline, every
//! body a minimum transfer rate ([`Limits`]); error bodies are read only in part.

mod body;
mod download;
mod file;
mod retry;

pub use body::{BodyError, BodyReader};
pub use download::{Downloaded, FileRequest, authority};
pub use file::{local_path, resolve};
pub use retry::{RetryPolicy, RetryState};

use crate::display::ShownUrl;
use crate::secret::Secret;
use futures::StreamExt;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use std::time::Duration;

/// How much of an error body is kept for the message: its start says enough.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Bounds on every read, so that no server can hold pkgsync forever or fill its
/// memory (the `limits:` section of the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest metadata body (a `_result`, a listing page, a document) read
    /// into memory.
    pub max_metadata_bytes: u64,
    /// One metadata request, from connecting to its last byte; for any other
    /// request, the wait for the answer's head.
    pub metadata_deadline: Duration,
    /// A body that brings fewer than `min_rate` bytes per second, averaged over
    /// `rate_window`, is given up (curl's `--speed-limit`/`--speed-time`).
    pub min_rate: u64,
    pub rate_window: Duration,
    /// The most packages one listing (all its pages) may hold.
    pub max_listed_packages: usize,
}

impl Limits {
    /// An upload of `size` bytes must be answered within the metadata deadline
    /// plus the time the file takes at the minimum rate: a server that takes the
    /// body slower than that, or never answers, does not hold pkgsync forever.
    pub fn upload_deadline(&self, size: u64) -> Duration {
        self.metadata_deadline + Duration::from_secs(size / self.min_rate.max(1))
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_metadata_bytes: 128 * 1024 * 1024,
            metadata_deadline: Duration::from_secs(600),
            min_rate: 1024,
            rate_window: Duration::from_secs(60),
            max_listed_packages: 200_000,
        }
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
        url: ShownUrl,
        reason: String,
    },
    #[error("`{method} {url}` answered {status}{}", body_excerpt(.body))]
    Status {
        method: Method,
        url: ShownUrl,
        status: StatusCode,
        body: String,
    },
}

impl HttpError {
    pub fn transport(method: Method, url: &str, reason: impl Into<String>) -> Self {
        Self::Transport {
            method,
            url: ShownUrl::new(url),
            reason: reason.into(),
        }
    }

    pub fn with_status(method: Method, url: &str, status: StatusCode, body: String) -> Self {
        Self::Status {
            method,
            url: ShownUrl::new(url),
            status,
            body,
        }
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::Transport { .. } => None,
        }
    }

    pub fn url(&self) -> &ShownUrl {
        match self {
            Self::Status { url, .. } | Self::Transport { url, .. } => url,
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
    format!(": {}", crate::display::text(&excerpt))
}

/// Describes a transport error without its URL (that is shown separately, masked).
pub fn transport_reason(error: &reqwest::Error) -> String {
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

const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(120);

fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("pkgsync/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    /// For uploads: no read timeout. reqwest's read timeout runs from the start
    /// of a request until the answer's head, so it would also cut off sending a
    /// large body; uploads are bounded by their own deadline instead.
    upload_client: reqwest::Client,
    read_timeout: Duration,
    pub retry: RetryPolicy,
    pub limits: Limits,
}

impl HttpClient {
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn new(retry: RetryPolicy) -> Self {
        Self {
            client: client_builder()
                .read_timeout(DEFAULT_READ_TIMEOUT)
                .build()
                .expect("the TLS backend initialises"),
            upload_client: client_builder()
                .build()
                .expect("the TLS backend initialises"),
            read_timeout: DEFAULT_READ_TIMEOUT,
            retry,
            limits: Limits::default(),
        }
    }

    /// How long a request (other than an upload) may wait for its answer's
    /// head and between reads; tests shorten it.
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.client = client_builder()
            .read_timeout(timeout)
            .build()
            .expect("the TLS backend initialises");
        self.read_timeout = timeout;
        self
    }

    /// This client, except that a redirect to `mirror` (`host:port`) is not
    /// followed but answered as it is: for fetching a file once more from its
    /// origin after that mirror sent other bytes.
    fn avoiding(&self, mirror: &str) -> Self {
        let mirror = mirror.to_string();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if download::authority(attempt.url().as_str()).as_deref() == Some(mirror.as_str()) {
                attempt.stop()
            } else if attempt.previous().len() >= 10 {
                attempt.error("more than 10 redirects")
            } else {
                attempt.follow()
            }
        });
        let mut avoiding = self.clone();
        avoiding.client = client_builder()
            .read_timeout(self.read_timeout)
            .redirect(policy)
            .build()
            .expect("the TLS backend initialises");
        avoiding
    }

    pub fn request(&self, method: Method, url: &str, auth: &Auth) -> RequestBuilder {
        auth.apply(self.client.request(method, url))
    }

    /// A POST whose body may take long to send; the caller sets its deadline.
    pub fn upload_request(&self, url: &str, auth: &Auth) -> RequestBuilder {
        auth.apply(self.upload_client.request(Method::POST, url))
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry policy is
    /// spent ([`RetryState`]). Everything retried goes through a `RetryState`,
    /// never nested.
    pub async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T, HttpError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AttemptError>>,
    {
        let mut state = RetryState::new(&self.retry);
        loop {
            let (error, server_wait) = match attempt().await {
                Ok(value) => return Ok(value),
                Err(AttemptError::Final(error)) => return Err(error),
                Err(AttemptError::Retry(error, wait)) => (error, wait),
            };
            match state.failed(&error, server_wait) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(error),
            }
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
        // The wait for the answer's head is bounded for every request; bodies are
        // bounded where they are read (deadline, rate, listed size).
        let deadline = self.limits.metadata_deadline;
        let sent = customise(self.request(method.clone(), url, auth)).send();
        let Ok(answer) = tokio::time::timeout(deadline, sent).await else {
            return Err(AttemptError::Retry(
                HttpError::transport(
                    method,
                    url,
                    format!(
                        "no answer within the {} s deadline (`limits.request_timeout_secs`)",
                        deadline.as_secs_f64()
                    ),
                ),
                None,
            ));
        };
        match answer {
            Ok(response) if !retryable_status(response.status()) => Ok(response),
            Ok(response) => {
                let wait = retry_after(&response);
                let status = response.status();
                let body = error_body(response).await;
                let error = HttpError::with_status(method, url, status, body);
                Err(AttemptError::Retry(error, wait))
            }
            Err(e) => Err(AttemptError::Retry(
                HttpError::transport(method, url, transport_reason(&e)),
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

    /// GET a whole metadata body as text, retrying also when the body is cut
    /// short or too slow. Non-success statuses become [`HttpError::Status`]; a
    /// body over [`Limits::max_metadata_bytes`] or past
    /// [`Limits::metadata_deadline`] is an error that names the limit.
    pub async fn get_text(
        &self,
        url: &str,
        auth: &Auth,
    ) -> Result<(reqwest::header::HeaderMap, String), HttpError> {
        if let Some(path) = local_path(url) {
            let text = self.read_local_text(url, &path).await?;
            return Ok((reqwest::header::HeaderMap::new(), text));
        }
        self.with_retries(|| async {
            let deadline = self.limits.metadata_deadline;
            match tokio::time::timeout(deadline, self.get_text_once(url, auth)).await {
                Ok(result) => result,
                Err(_) => Err(AttemptError::Final(HttpError::transport(
                    Method::GET,
                    url,
                    format!(
                        "no complete answer within the {} s deadline for metadata (`limits.request_timeout_secs`)",
                        deadline.as_secs_f64()
                    ),
                ))),
            }
        })
        .await
    }

    async fn get_text_once(
        &self,
        url: &str,
        auth: &Auth,
    ) -> Result<(reqwest::header::HeaderMap, String), AttemptError> {
        let response = self.send_once(Method::GET, url, auth, |r| r).await?;
        let status = response.status();
        let headers = response.headers().clone();
        if !status.is_success() {
            let body = error_body(response).await;
            return Err(AttemptError::Final(HttpError::with_status(
                Method::GET,
                url,
                status,
                body,
            )));
        }
        let text = self.metadata_body(response, &Method::GET, url).await?;
        Ok((headers, text))
    }

    /// A metadata answer's body as text, under [`Limits::max_metadata_bytes`] and
    /// the minimum transfer rate.
    pub async fn metadata_body(
        &self,
        response: Response,
        method: &Method,
        url: &str,
    ) -> Result<String, AttemptError> {
        let limit = self.limits.max_metadata_bytes;
        let too_large = |seen: u64| {
            AttemptError::Final(HttpError::transport(
                method.clone(),
                url,
                format!(
                    "the body is larger than the {} MiB limit for metadata (at least {seen} bytes; `limits.max_metadata_mib`)",
                    limit / (1024 * 1024)
                ),
            ))
        };
        let announced = response.content_length().unwrap_or(0);
        if announced > limit {
            return Err(too_large(announced));
        }
        let mut body = Vec::with_capacity(announced as usize);
        let mut reader = BodyReader::new(response.bytes_stream(), &self.limits);
        while let Some(chunk) = reader
            .next_chunk()
            .await
            .map_err(|e| e.attempt(method, url))?
        {
            if body.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large(body.len() as u64 + chunk.len() as u64));
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|_| {
            AttemptError::Final(HttpError::transport(
                method.clone(),
                url,
                "the body is not UTF-8 text",
            ))
        })
    }
}

/// The start of an error answer's body, for the message; never the whole of it.
pub async fn error_body(response: Response) -> String {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    let read = async {
        while let Some(Ok(chunk)) = stream.next().await {
            let room = ERROR_BODY_LIMIT - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= ERROR_BODY_LIMIT {
                break;
            }
        }
    };
    // An error page that trickles is not worth waiting for.
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    String::from_utf8_lossy(&body).into_owned()
}

/// How one attempt failed: worth another (after the server's wait, if it named
/// one), or final.
#[derive(Debug)]
pub enum AttemptError {
    Retry(HttpError, Option<Duration>),
    Final(HttpError),
}

impl AttemptError {
    pub fn into_error(self) -> HttpError {
        match self {
            Self::Retry(error, _) | Self::Final(error) => error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_elapsed: Duration::from_secs(60),
            log: false,
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
