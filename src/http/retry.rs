//! How often and how long to retry ([`RetryPolicy`]), where one retried
//! operation stands against it ([`RetryState`]), and the client's requests
//! that retry by them: what is worth another attempt (connection errors, 5xx,
//! 429) and how long the server asked to wait.

use super::{AttemptError, Auth, HttpClient, HttpError, error_body, transport_reason};
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
    /// How each retry is reported on stderr.
    pub report: RetryReport,
}

/// How a retry is reported: every one gets a line on stderr, its reason and
/// its wait, so that a wait is never silent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RetryReport {
    /// `` `GET …` via proxy …: …; retry 2 of 5 in 1.6 s ``
    #[default]
    Text,
    /// One JSON object per line (`{"type":"retry",…}`), for `--format json`.
    Json,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(300),
            report: RetryReport::Text,
        }
    }
}

impl RetryPolicy {
    /// Waits that start at `base` (tests set it low so that fault scenarios
    /// run in milliseconds), with the longest wait scaled down alike.
    pub fn with_base_delay(mut self, base: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = self.max_delay.min((base * 20).max(base));
        self
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

/// Where one retried operation stands against its [`RetryPolicy`]: how many
/// attempts failed and since when. The one place that decides whether to try
/// again and how long to wait first.
#[derive(Debug)]
pub struct RetryState<'p> {
    policy: &'p RetryPolicy,
    started: Instant,
    failures: u32,
}

impl<'p> RetryState<'p> {
    pub fn new(policy: &'p RetryPolicy) -> Self {
        Self {
            policy,
            started: Instant::now(),
            failures: 0,
        }
    }

    /// Counts a failed attempt. The wait before the next one (the server's
    /// `Retry-After`, or backoff), or `None` when the policy is spent: in
    /// attempts, or in time (no wait may end past `max_elapsed`).
    pub fn failed(&mut self, error: &HttpError, server_wait: Option<Duration>) -> Option<Duration> {
        self.failures += 1;
        let delay = self.policy.delay(self.failures, server_wait);
        if self.failures >= self.policy.max_attempts
            || self.started.elapsed() + delay > self.policy.max_elapsed
        {
            return None;
        }
        self.report(error, delay);
        Some(delay)
    }

    /// One line on stderr for the retry about to wait `delay`.
    fn report(&self, error: &HttpError, delay: Duration) {
        let retries = self.policy.max_attempts.saturating_sub(1);
        match self.policy.report {
            RetryReport::Text => eprintln!(
                "{error}; retry {} of {retries} in {:.1} s",
                self.failures,
                delay.as_secs_f64()
            ),
            RetryReport::Json => eprintln!(
                "{}",
                serde_json::json!({
                    "type": "retry",
                    "url": error.url().to_string(),
                    "proxy": error.proxy(),
                    "reason": error.to_string(),
                    "retry": self.failures,
                    "of": retries,
                    "delay_secs": (delay.as_secs_f64() * 10.0).round() / 10.0,
                })
            ),
        }
    }
}

impl HttpClient {
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
        let sent = self.dispatch(method.clone(), url, auth, &customise);
        let Ok(answer) = tokio::time::timeout(deadline, sent).await else {
            return Err(AttemptError::Retry(
                HttpError::transport(
                    method,
                    url,
                    format!(
                        "no answer within the {} s deadline (`limits.request_timeout_secs`)",
                        deadline.as_secs_f64()
                    ),
                )
                .via(self.proxies.for_url(url)),
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
                HttpError::transport(method, url, transport_reason(&e))
                    .via(self.proxies.for_url(url)),
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
            report: RetryReport::Text,
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
