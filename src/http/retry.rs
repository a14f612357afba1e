//! How often and how long to retry ([`RetryPolicy`]), and where one retried
//! operation stands against it ([`RetryState`]).

use super::HttpError;
use rand::Rng;
use std::time::{Duration, Instant};

/// How often and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No new attempt starts after this much time since the first.
    pub max_elapsed: Duration,
    /// Each retry gets a line on stderr (`PKGSYNC_LOG_RETRIES=1`).
    pub log: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(300),
            log: false,
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
        if self.policy.log {
            eprintln!("retry {}: {error}", self.failures);
        }
        Some(delay)
    }
}
