//! The OBS API emulator: the handle tests use to start it and change it, and
//! the fixed answers it can give instead. Its state (projects, repositories,
//! packages, build results and binaries) and the seed-building helpers are in
//! `state`, request handling in `routes`, XML in `xml`.

mod routes;
mod state;
pub(crate) mod xml;

pub use state::{BuildKey, ObsBinary, ObsBuild, ObsPackage, ObsProject, ObsRepository, ObsState};

use super::faults::{Flavor, lock};
use super::server::{self, Endpoint};
use axum::body::Bytes;
use std::sync::{Arc, Mutex};

/// A fixed answer given instead of handling the matching requests: for what no
/// OBS state produces, such as a proxy's page with status 200, a document cut
/// short without the transport noticing, or a backend error between two calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedAnswer {
    /// Substring of the raw `path?query` or of the decoded path.
    pub path_contains: String,
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl CannedAnswer {
    /// A `text/xml` answer (the backend's content type).
    pub fn new(path_contains: impl Into<String>, status: u16, body: impl Into<String>) -> Self {
        Self {
            path_contains: path_contains.into(),
            status,
            content_type: "text/xml".to_string(),
            body: body.into(),
        }
    }

    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = content_type.into();
        self
    }
}

/// State shared between the handle and the request handlers.
#[derive(Debug)]
pub(crate) struct ObsShared {
    pub(crate) state: Mutex<ObsState>,
    pub(crate) canned: Mutex<Vec<CannedAnswer>>,
}

/// Where one binary sits in an emulated build area.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BinaryPath {
    pub project: String,
    pub repository: String,
    pub arch: String,
    pub package: String,
    pub filename: String,
}

/// A running OBS emulator.
#[derive(Debug)]
pub struct ObsEmulator {
    shared: Arc<ObsShared>,
    endpoint: Endpoint,
}

impl ObsEmulator {
    /// Starts the emulator on an ephemeral loopback port.
    pub async fn start(state: ObsState) -> anyhow::Result<Self> {
        let shared = Arc::new(ObsShared {
            state: Mutex::new(state),
            canned: Mutex::new(Vec::new()),
        });
        let (listener, url) = server::bind().await?;
        let router = routes::router(shared.clone());
        let endpoint = Endpoint::serve(listener, url, router, Flavor::Obs);
        Ok(Self { shared, endpoint })
    }

    server::endpoint_controls!();

    /// Answers matching requests with these fixed answers (first match wins) until
    /// cleared with an empty list.
    pub fn set_canned_answers(&self, answers: Vec<CannedAnswer>) {
        *lock(&self.shared.canned) = answers;
    }

    /// Sets or clears the project's `binarydownload` restriction.
    pub fn set_binary_download_disabled(&self, project: &str, disabled: bool) {
        self.with_state(|s| s.project(project).binary_download_disabled = disabled);
    }

    /// `Some((user, password))` requires Basic auth on every non-`/public` request.
    pub fn set_credentials(&self, credentials: Option<(String, String)>) {
        lock(&self.shared.state).credentials = credentials;
    }

    /// Runs `change` on the state under the lock (for anything without a helper).
    pub fn with_state<R>(&self, change: impl FnOnce(&mut ObsState) -> R) -> R {
        change(&mut lock(&self.shared.state))
    }

    /// Adds or replaces the binary at `origin` (creating project entries as needed).
    pub fn set_binary(&self, origin: &BinaryPath, bytes: impl Into<Bytes>, mtime: u64) {
        self.with_state(|s| {
            s.project(&origin.project).set_binary(
                &origin.repository,
                &origin.arch,
                &origin.package,
                &origin.filename,
                bytes,
                mtime,
            );
        });
    }

    /// Removes the binary at `origin`; true if it was there.
    pub fn remove_binary(&self, origin: &BinaryPath) -> bool {
        self.with_state(|s| {
            s.projects.get_mut(&origin.project).is_some_and(|p| {
                p.remove_binary(
                    &origin.repository,
                    &origin.arch,
                    &origin.package,
                    &origin.filename,
                )
            })
        })
    }

    /// Sets a package's build code (`succeeded`, `failed`, `building`, ...).
    pub fn set_package_code(
        &self,
        project: &str,
        repository: &str,
        arch: &str,
        package: &str,
        code: &str,
    ) {
        self.with_state(|s| {
            s.project(project).set_code(repository, arch, package, code);
        });
    }
}
