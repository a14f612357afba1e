//! The fault plan both emulators apply as middleware: chosen requests get a 5xx,
//! a 429, a dropped connection, a truncated body, a delay, a redirect to a
//! mirror, or are handled and then answered with an error ("stored but
//! answered 500").
//!
//! A rule matches by method (optional, case-insensitive) and by a substring of the
//! request target: the raw `path?query` or the percent-decoded path. Every rule
//! counts every request it matches; it lets the first `skip` through and fires on
//! the next `times`. When several rules fire for one request, the first one wins.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One rule of a fault plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// `GET`, `POST`, ... or `None` for any method.
    pub method: Option<String>,
    /// Substring of the raw `path?query` or of the decoded path; empty matches all.
    pub path_contains: String,
    /// Matching requests to let through before the fault starts.
    pub skip: usize,
    /// Matching requests the fault applies to after the skipped ones.
    pub times: usize,
    pub fault: Fault,
}

impl FaultRule {
    /// A rule for the first `times` requests of any method whose target contains
    /// `path_contains`.
    pub fn new(path_contains: impl Into<String>, fault: Fault) -> Self {
        Self {
            method: None,
            path_contains: path_contains.into(),
            skip: 0,
            times: 1,
            fault,
        }
    }

    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    pub fn skip(mut self, skip: usize) -> Self {
        self.skip = skip;
        self
    }

    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }
}

/// What happens to a request a rule fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a realistic body, without handling the request.
    Status(u16),
    /// 429 with `Retry-After`, without handling the request.
    TooManyRequests { retry_after_secs: u64 },
    /// Drop the connection without sending a response.
    Reset,
    /// Handle the request, announce the full Content-Length, send only
    /// `keep_bytes` of the body, then close the connection.
    Truncate { keep_bytes: usize },
    /// Handle the request after this pause.
    Delay { millis: u64 },
    /// Handle the request (an upload is stored), then answer with this status.
    StoreThenStatus(u16),
    /// Handle the request, then send its body without a length and never stop:
    /// filler follows the real body until the client hangs up.
    Endless,
    /// Handle the request, then send its body (with its real length) at this rate.
    Drip { bytes_per_sec: u64 },
    /// Handle the request, then answer with the last byte of the body flipped
    /// (same length), as a proxy that damages bytes in transit would.
    CorruptBody,
    /// Flip one byte of an uploaded package file before it is stored, as a proxy
    /// that damages bytes in transit would: the 201 then reports another sha256.
    CorruptUpload,
    /// Answer `302 Found` to `<base><path?query>`, as a mirror redirector
    /// sends a download to a mirror (`base`: e.g. `http://127.0.0.1:4321`).
    Redirect { base: String },
}

/// Set on a request whose uploaded file the upload route must damage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CorruptUploadMark;

/// Which server's error pages to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Apache in front of the OBS Rails app.
    Obs,
    /// nginx in front of the Packagecloud Rails app.
    Packagecloud,
}

#[derive(Debug)]
struct RuleState {
    rule: FaultRule,
    matched: usize,
}

/// The rules of one emulator plus their counters. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultPlan {
    rules: Arc<Mutex<Vec<RuleState>>>,
}

impl FaultPlan {
    pub(crate) fn set(&self, rules: Vec<FaultRule>) {
        let states = rules
            .into_iter()
            .map(|rule| RuleState { rule, matched: 0 })
            .collect();
        *lock(&self.rules) = states;
    }

    /// Counts the request against every matching rule; returns the fault to apply.
    fn next_fault(&self, method: &str, raw_target: &str, decoded_path: &str) -> Option<Fault> {
        let mut fired = None;
        for state in lock(&self.rules).iter_mut() {
            let rule = &state.rule;
            let method_ok = rule
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method));
            let path_ok = raw_target.contains(&rule.path_contains)
                || decoded_path.contains(&rule.path_contains);
            if !(method_ok && path_ok) {
                continue;
            }
            state.matched += 1;
            let n = state.matched;
            if fired.is_none() && n > rule.skip && n - rule.skip <= rule.times {
                fired = Some(rule.fault.clone());
            }
        }
        fired
    }
}

/// Locks a mutex, recovering the data if a panicking test thread poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Middleware body: decide on a fault for this request and apply it.
pub(crate) async fn apply(
    plan: FaultPlan,
    flavor: Flavor,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().as_str().to_string();
    let raw_target = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    let decoded = percent_encoding::percent_decode_str(request.uri().path())
        .decode_utf8_lossy()
        .into_owned();
    let mut request = request;
    match plan.next_fault(&method, &raw_target, &decoded) {
        None => next.run(request).await,
        Some(Fault::CorruptUpload) => {
            request.extensions_mut().insert(CorruptUploadMark);
            next.run(request).await
        }
        Some(Fault::Endless) => endless(next.run(request).await),
        Some(Fault::CorruptBody) => corrupt(next.run(request).await).await,
        Some(Fault::Drip { bytes_per_sec }) => drip(next.run(request).await, bytes_per_sec),
        Some(Fault::Delay { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            next.run(request).await
        }
        // Front ends read the whole request before they answer; answering early
        // would turn the client's upload into a broken pipe instead of a status.
        Some(Fault::Status(code)) => {
            drain(request).await;
            error_response(code, flavor)
        }
        Some(Fault::TooManyRequests { retry_after_secs }) => {
            drain(request).await;
            let mut response = error_response(429, flavor);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Some(Fault::Reset) => reset(),
        Some(Fault::Redirect { base }) => {
            drain(request).await;
            let location = format!("{}{raw_target}", base.trim_end_matches('/'));
            match HeaderValue::from_str(&location) {
                Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
                Err(_) => error_response(500, flavor),
            }
        }
        Some(Fault::Truncate { keep_bytes }) => truncate(next.run(request).await, keep_bytes).await,
        Some(Fault::StoreThenStatus(code)) => {
            let handled = next.run(request).await;
            // Drain the real answer so the handler's work is complete, then lie.
            let _ = axum::body::to_bytes(handled.into_body(), usize::MAX).await;
            error_response(code, flavor)
        }
    }
}

async fn drain(request: Request) {
    let _ = axum::body::to_bytes(request.into_body(), usize::MAX).await;
}

/// A response whose body fails before its first byte: hyper drops the connection.
fn reset() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("sandbox fault: connection reset"))
    });
    Body::from_stream(stream).into_response()
}

/// Sends the head with the full Content-Length and only `keep_bytes` of the body.
async fn truncate(response: Response, keep_bytes: usize) -> Response {
    let (mut parts, body) = response.into_parts();
    let full = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(full) => full,
        Err(_) => return reset(),
    };
    let kept = full.slice(..keep_bytes.min(full.len()));
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    let stream = futures::stream::unfold(Some(kept), |state| async move {
        match state {
            Some(kept) => Some((Ok::<Bytes, std::io::Error>(kept), None)),
            None => {
                // A pause lets hyper flush what was sent before the connection dies.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Some((Err(std::io::Error::other("sandbox fault: truncated")), None))
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The real answer with one bit of its last byte flipped.
async fn corrupt(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let Ok(full) = axum::body::to_bytes(body, usize::MAX).await else {
        return reset();
    };
    let mut bytes = full.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The real body, then filler for ever, without a `Content-Length`.
fn endless(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let filler = futures::stream::repeat_with(|| {
        Ok::<Bytes, axum::Error>(Bytes::from(vec![b' '; 64 * 1024]))
    });
    let stream = body.into_data_stream().chain(filler);
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The real body, a few bytes at a time at `bytes_per_sec`.
fn drip(response: Response, bytes_per_sec: u64) -> Response {
    let (parts, body) = response.into_parts();
    let step = (bytes_per_sec / 4).max(1) as usize;
    let stream = futures::stream::unfold(
        (body.into_data_stream(), Bytes::new()),
        move |(mut body, mut pending)| async move {
            while pending.is_empty() {
                match body.next().await? {
                    Ok(chunk) => pending = chunk,
                    Err(e) => return Some((Err(e), (body, Bytes::new()))),
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            let piece = pending.split_to(step.min(pending.len()));
            Some((Ok(piece), (body, pending)))
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

/// An error answer that looks like what the real front end sends for `code`.
pub(crate) fn error_response(code: u16, flavor: Flavor) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("Error");
    let number = status.as_u16();
    let (content_type, body) = match flavor {
        Flavor::Obs if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => (
            "text/html; charset=iso-8859-1",
            format!(
                "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n\
                 <title>{number} {reason}</title>\n</head><body>\n<h1>{reason}</h1>\n\
                 <p>The server is temporarily unable to service your request. Please try again later.</p>\n\
                 <hr>\n<address>Apache Server at api.opensuse.org Port 443</address>\n</body></html>\n"
            ),
        ),
        Flavor::Obs => (
            "application/xml; charset=utf-8",
            obs_status_document(number, reason),
        ),
        Flavor::Packagecloud if status == StatusCode::INTERNAL_SERVER_ERROR => (
            "application/json; charset=utf-8",
            serde_json::json!({"status": 500, "error": "Internal Server Error"}).to_string(),
        ),
        Flavor::Packagecloud
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS =>
        {
            (
                "text/html",
                format!(
                    "<html>\r\n<head><title>{number} {reason}</title></head>\r\n<body>\r\n\
                 <center><h1>{number} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n\
                 </body>\r\n</html>\r\n"
                ),
            )
        }
        Flavor::Packagecloud => (
            "application/json; charset=utf-8",
            serde_json::json!({ "error": reason }).to_string(),
        ),
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// OBS's `<status>` error document, written here rather than by the OBS
/// emulator's writer so that the fault layer depends on no emulator. `reason`
/// is a canonical HTTP reason phrase; it is escaped all the same.
fn obs_status_document(code: u16, reason: &str) -> String {
    format!(
        "<status code=\"{code}\">\n  <summary>{}</summary>\n</status>\n",
        quick_xml::escape::escape(reason)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_then_times_then_quiet() {
        let plan = FaultPlan::default();
        plan.set(vec![
            FaultRule::new("/build/", Fault::Status(503))
                .method("get")
                .skip(1)
                .times(2),
        ]);
        let fired: Vec<bool> = (0..5)
            .map(|_| plan.next_fault("GET", "/build/p", "/build/p").is_some())
            .collect();
        assert_eq!(fired, [false, true, true, false, false]);
        assert!(plan.next_fault("POST", "/build/p", "/build/p").is_none());
        assert!(plan.next_fault("GET", "/source/p", "/source/p").is_none());
    }

    #[test]
    fn first_firing_rule_wins_and_all_count() {
        let plan = FaultPlan::default();
        plan.set(vec![
            FaultRule::new("a", Fault::Reset),
            FaultRule::new("a", Fault::Delay { millis: 1 }).times(2),
        ]);
        assert_eq!(plan.next_fault("GET", "/a", "/a"), Some(Fault::Reset));
        // The second rule counted the first request too: one firing left.
        assert_eq!(
            plan.next_fault("GET", "/a", "/a"),
            Some(Fault::Delay { millis: 1 })
        );
        assert_eq!(plan.next_fault("GET", "/a", "/a"), None);
    }

    #[test]
    fn matches_the_decoded_path_too() {
        let plan = FaultPlan::default();
        plan.set(vec![FaultRule::new("home:demo", Fault::Status(500))]);
        assert!(
            plan.next_fault("GET", "/build/home%3Ademo", "/build/home:demo")
                .is_some()
        );
    }
}
