//! How requests fail: [`HttpError`] names the method, the masked URL and the
//! start of the body, never a credential; [`AttemptError`] says whether one
//! attempt is worth another.

use crate::display::ShownUrl;
use futures::StreamExt;
use reqwest::{Method, Response, StatusCode};
use std::time::Duration;

/// How much of an error body is kept for the message: its start says enough.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("`{method} {url}`{} failed: {reason}", via(.proxy))]
    Transport {
        method: Method,
        url: ShownUrl,
        /// The proxy the request went through, `host:port` only.
        proxy: Option<String>,
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
            proxy: None,
            reason: reason.into(),
        }
    }

    /// The same error, naming the proxy (`host:port`) the request went through.
    pub fn via(mut self, through: Option<&str>) -> Self {
        if let Self::Transport { proxy, .. } = &mut self {
            *proxy = through.map(str::to_string);
        }
        self
    }

    /// The proxy a failed connection went through.
    pub fn proxy(&self) -> Option<&str> {
        match self {
            Self::Transport { proxy, .. } => proxy.as_deref(),
            Self::Status { .. } => None,
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

    /// One line without the answer's body: for a file that should be there
    /// (a signature), the status says all a person needs.
    pub fn status_line(&self) -> String {
        match self {
            Self::Status {
                method,
                url,
                status,
                ..
            } => format!("`{method} {url}` answered {status}"),
            Self::Transport { .. } => self.to_string(),
        }
    }

    pub fn url(&self) -> &ShownUrl {
        match self {
            Self::Status { url, .. } | Self::Transport { url, .. } => url,
        }
    }
}

fn via(proxy: &Option<String>) -> String {
    proxy
        .as_ref()
        .map(|p| format!(" via proxy {p}"))
        .unwrap_or_default()
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
