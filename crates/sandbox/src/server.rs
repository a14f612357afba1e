//! Plumbing shared by every server of the sandbox: binding an ephemeral loopback
//! port, serving an axum router until shutdown, the request log, the middleware
//! stack (log first, then faults, so faulted requests are logged too), the
//! controls each handle offers over them ([`Endpoint`], [`endpoint_controls`]),
//! and the reading of paths and credentials both APIs share.

use super::faults::{self, FaultPlan, Flavor, lock};
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use base64::Engine;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One request as it arrived: method, raw (still percent-encoded) path, raw query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Whether credentials came with it (an `Authorization` header).
    pub authorized: bool,
}

/// Every request an emulator received, in arrival order, and how many were
/// being handled at once (for benchmarks of a client's concurrency).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestLog {
    entries: Arc<Mutex<Vec<RecordedRequest>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

/// Counts a request as in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RequestLog {
    pub(crate) fn snapshot(&self) -> Vec<RecordedRequest> {
        lock(&self.entries).clone()
    }

    pub(crate) fn clear(&self) {
        lock(&self.entries).clear();
        self.max_in_flight.store(0, Ordering::SeqCst);
    }

    /// The most requests handled at once since the last [`Self::clear`].
    pub(crate) fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    fn enter(&self) -> InFlight {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(self.in_flight.clone())
    }

    fn record(&self, request: &Request) {
        lock(&self.entries).push(RecordedRequest {
            method: request.method().as_str().to_string(),
            path: request.uri().path().to_string(),
            query: request.uri().query().map(str::to_string),
            authorized: request
                .headers()
                .contains_key(axum::http::header::AUTHORIZATION),
        });
    }
}

/// Wraps `router` in the request log and the fault plan.
fn instrument(router: Router, log: RequestLog, faults: FaultPlan, flavor: Flavor) -> Router {
    router
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let faults = faults.clone();
                async move { faults::apply(faults, flavor, request, next).await }
            },
        ))
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                log.record(&request);
                let in_flight = log.enter();
                async move {
                    let response = next.run(request).await;
                    drop(in_flight);
                    response
                }
            },
        ))
}

/// A loopback listener on an ephemeral port and its base URL (no trailing slash).
pub(crate) async fn bind() -> anyhow::Result<(TcpListener, String)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    Ok((listener, format!("http://{addr}")))
}

/// A running server; `shutdown` stops it gracefully, dropping it aborts it.
#[derive(Debug)]
struct RunningServer {
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// How long in-flight requests get to finish on shutdown.
const GRACE: Duration = Duration::from_secs(5);

impl RunningServer {
    fn serve(listener: TcpListener, router: Router) -> Self {
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, router).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            // An accept error ends the server; tests then see connection errors.
            let _ = server.await;
        });
        Self {
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(GRACE, &mut task).await.is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// One server as its handle holds it: its URL, request log, fault plan and the
/// running server.
#[derive(Debug)]
pub(crate) struct Endpoint {
    url: String,
    log: RequestLog,
    faults: FaultPlan,
    server: RunningServer,
}

impl Endpoint {
    /// Serves `router`, with a fresh request log and fault plan, on `listener`
    /// (from [`bind`], which gave `url`).
    pub(crate) fn serve(
        listener: TcpListener,
        url: String,
        router: Router,
        flavor: Flavor,
    ) -> Self {
        let log = RequestLog::default();
        let faults = FaultPlan::default();
        let router = instrument(router, log.clone(), faults.clone(), flavor);
        Self {
            url,
            log,
            faults,
            server: RunningServer::serve(listener, router),
        }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn log(&self) -> &RequestLog {
        &self.log
    }

    pub(crate) fn faults(&self) -> &FaultPlan {
        &self.faults
    }

    pub(crate) async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// The public controls every server handle offers, delegated to its field
/// `endpoint` (an [`Endpoint`]): written once, so the handles cannot drift.
macro_rules! endpoint_controls {
    () => {
        /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
        pub fn url(&self) -> &str {
            self.endpoint.url()
        }

        /// Stops the server; in-flight requests get a few seconds to finish.
        pub async fn shutdown(self) {
            self.endpoint.shutdown().await;
        }

        /// Every request received so far, in order.
        pub fn requests(&self) -> Vec<$crate::RecordedRequest> {
            self.endpoint.log().snapshot()
        }

        pub fn clear_requests(&self) {
            self.endpoint.log().clear();
        }

        /// The most requests handled at once since the last `clear_requests`.
        pub fn max_in_flight(&self) -> usize {
            self.endpoint.log().max_in_flight()
        }

        pub fn set_faults(&self, rules: Vec<$crate::FaultRule>) {
            self.endpoint.faults().set(rules);
        }

        pub fn clear_faults(&self) {
            self.endpoint.faults().set(Vec::new());
        }
    };
}
pub(crate) use endpoint_controls;

/// Splits the raw path and percent-decodes each segment; `None` on bad UTF-8.
pub(crate) fn decode_segments(path: &str) -> Option<Vec<String>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        })
        .collect()
}

/// `(user, password)` from an `Authorization: Basic` header, if well formed.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}
