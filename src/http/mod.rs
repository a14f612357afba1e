//! The one HTTP client: timeouts, user agent, retries with backoff and jitter for
//! connection errors, 5xx and 429 (honouring `Retry-After`), and errors that name
//! the method, the URL and the start of the body, never a credential.
//!
//! Only idempotent requests are retried here. A POST is sent once; its caller
//! decides how to find out whether it took effect before sending it again.
//!
//! No read is unbounded: a metadata body has a size limit and a deadline, every
//! body a minimum transfer rate ([`Limits`]); error bodies are read only in part.
//!
//! `client.rs` builds the client, `retry.rs` retries, `errors.rs` says how a
//! request failed, `body.rs` bounds a body's reading, `text.rs` reads metadata
//! bodies, `stream.rs` parses large ones as they arrive, `download.rs` and
//! `file.rs` write files.

mod body;
mod client;
mod download;
mod errors;
mod file;
mod proxy;
mod retry;
mod stream;
mod text;

pub use body::{BodyError, BodyReader};
pub use client::{Auth, Credential, HttpClient, RepositoryAuth, origin};
pub use download::{Downloaded, FileRequest, authority};
pub use errors::{AttemptError, HttpError, error_body, transport_reason};
pub use file::{local_path, resolve};

pub use proxy::Proxies;
pub use retry::{RetryPolicy, RetryReport, RetryState, retry_after};
pub use stream::{StreamCap, StreamParser};

use std::time::Duration;

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
    /// The largest OBS `_result` (every binary of a project), parsed as it
    /// arrives rather than held: the largest real projects list several GiB.
    pub max_result_bytes: u64,
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
            max_result_bytes: 16 * 1024 * 1024 * 1024,
        }
    }
}
