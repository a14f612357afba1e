//! Reading a response body under the minimum transfer rate ([`BodyReader`]),
//! and why a read stopped early ([`BodyError`]).

use super::{AttemptError, HttpError, Limits, transport_reason};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use reqwest::Method;
use std::time::Instant;

/// Why reading a body stopped early.
#[derive(Debug)]
pub enum BodyError {
    /// The connection failed or closed early (after `received` bytes).
    Cut { received: u64, reason: String },
    /// No data came within the read timeout.
    Stalled { received: u64 },
    /// Fewer than the minimum rate arrived over the window.
    TooSlow {
        received: u64,
        window_bytes: u64,
        limits: Limits,
    },
}

impl BodyError {
    pub fn reason(&self) -> String {
        match self {
            Self::Cut { received, reason } => {
                format!("the body was cut short after {received} bytes ({reason})")
            }
            Self::Stalled { received } => format!(
                "the transfer stalled after {received} bytes: no data within the read timeout"
            ),
            Self::TooSlow {
                received,
                window_bytes,
                limits,
            } => format!(
                "the transfer was too slow: {window_bytes} bytes in the last {} s, below the minimum of {} bytes/s (`limits.min_bytes_per_second` over `limits.slow_seconds`), after {received} bytes",
                limits.rate_window.as_secs_f64(),
                limits.min_rate
            ),
        }
    }

    /// Either way, another attempt may do better.
    pub fn attempt(self, method: &Method, url: &str) -> AttemptError {
        AttemptError::Retry(
            HttpError::transport(method.clone(), url, self.reason()),
            None,
        )
    }
}

/// Reads a response body chunk by chunk under the minimum transfer rate: at the
/// end of every window, at least `min_rate × window` bytes must have arrived.
pub struct BodyReader<S> {
    stream: S,
    limits: Limits,
    received: u64,
    window_start: Instant,
    window_bytes: u64,
}

impl<S> BodyReader<S>
where
    S: Stream<Item = reqwest::Result<Bytes>> + Unpin,
{
    pub fn new(stream: S, limits: &Limits) -> Self {
        Self {
            stream,
            limits: *limits,
            received: 0,
            window_start: Instant::now(),
            window_bytes: 0,
        }
    }

    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            let window_end = self.window_start + self.limits.rate_window;
            let wait = window_end.saturating_duration_since(Instant::now());
            let next = tokio::time::timeout(wait, self.stream.next()).await;
            // A chunk that arrived counts in the window it closes.
            if let Ok(Some(Ok(chunk))) = &next {
                self.received += chunk.len() as u64;
                self.window_bytes += chunk.len() as u64;
            }
            if Instant::now() >= window_end {
                self.check_rate()?;
            }
            match next {
                Err(_) => continue,
                Ok(None) => return Ok(None),
                Ok(Some(Err(e))) if e.is_timeout() => {
                    return Err(BodyError::Stalled {
                        received: self.received,
                    });
                }
                Ok(Some(Err(e))) => {
                    return Err(BodyError::Cut {
                        received: self.received,
                        reason: transport_reason(&e),
                    });
                }
                Ok(Some(Ok(chunk))) => return Ok(Some(chunk)),
            }
        }
    }

    fn check_rate(&mut self) -> Result<(), BodyError> {
        let needed = self.limits.min_rate as f64 * self.limits.rate_window.as_secs_f64();
        if (self.window_bytes as f64) < needed {
            return Err(BodyError::TooSlow {
                received: self.received,
                window_bytes: self.window_bytes,
                limits: self.limits,
            });
        }
        self.window_start = Instant::now();
        self.window_bytes = 0;
        Ok(())
    }
}
