//! In-process, stateful emulators of the OBS API and the Packagecloud API v1,
//! speaking the real wire formats on `127.0.0.1:<ephemeral port>`, for tests and
//! for the demo. Each emulator can run alone (`ObsEmulator::start`,
//! `PackagecloudEmulator::start`) or both together as a [`Sandbox`].
//!
//! Module map: `obs` and `packagecloud` (one emulator each), `faults` (the fault
//! plan both apply), `packages` (generates real rpm/deb files), `files` and
//! `published` (static trees of published repositories), `signing` (the key
//! that signs them), `gbs` (GBS snapshot trees with a movable `latest`),
//! `demo` (the demo seed and its constants), `server` (binding, serving,
//! request log).

pub mod demo;
pub mod faults;
pub mod files;
pub mod gbs;
pub mod obs;
pub mod packagecloud;
pub mod packages;
pub mod published;
mod server;
pub mod signing;

pub use faults::{Fault, FaultRule};
pub use obs::{CannedAnswer, ObsEmulator, ObsProject, ObsState};
pub use packagecloud::{
    DuplicateWording, PackagecloudEmulator, PackagecloudSeed, StoredPackageView,
};
pub use server::RecordedRequest;

use anyhow::Context;

/// The initial state of both emulators.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    pub obs: ObsState,
    pub packagecloud: PackagecloudSeed,
}

impl Seed {
    /// Nothing: no projects, no repositories, no credentials, no token.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds `count` distinct small rpms `{prefix}-{i}-1.0-1.x86_64.rpm`
    /// (i = 0..count) to the Packagecloud repository `repo` in `distro_version`.
    pub fn packagecloud_rpms(
        &mut self,
        repo: &str,
        distro_version: &str,
        prefix: &str,
        count: usize,
    ) -> anyhow::Result<&mut Self> {
        for i in 0..count {
            let name = format!("{prefix}-{i}");
            let bytes = packages::simple_rpm(&name, "1.0", "1", "x86_64")?;
            self.packagecloud.package(repo, distro_version, bytes);
        }
        Ok(self)
    }
}

/// Both emulators, started together.
#[derive(Debug)]
pub struct Sandbox {
    obs: ObsEmulator,
    packagecloud: PackagecloudEmulator,
    /// The OBS seed's builds as published repositories (see [`published`]).
    published: files::FileServer,
    _published_files: tempfile::TempDir,
    /// Signs the published repositories (see [`signing`]).
    signing: signing::SigningKey,
}

impl Sandbox {
    pub async fn start(seed: Seed) -> anyhow::Result<Sandbox> {
        let published_files = tempfile::tempdir().context("a directory for published files")?;
        let repositories = published_files.path().join("repositories");
        published::write_all(&seed.obs, &repositories).context("publishing the OBS builds")?;
        let signing = signing::SigningKey::generate()?;
        signing
            .publish(published_files.path(), &repositories)
            .context("signing the published repositories")?;
        let published = files::FileServer::start(published_files.path())
            .await
            .context("starting the download server")?;
        let obs = ObsEmulator::start(seed.obs)
            .await
            .context("starting the OBS emulator")?;
        let packagecloud = match PackagecloudEmulator::start(seed.packagecloud).await {
            Ok(pc) => pc,
            Err(e) => {
                obs.shutdown().await;
                return Err(e.context("starting the Packagecloud emulator"));
            }
        };
        Ok(Sandbox {
            obs,
            packagecloud,
            published,
            _published_files: published_files,
            signing,
        })
    }

    /// The armored public key that signs the published repositories (what a
    /// config's `signed_by:` names).
    pub fn signing_key_path(&self) -> std::path::PathBuf {
        self._published_files.path().join(signing::KEY_FILE)
    }

    /// The same key on the download server.
    pub fn signing_key_url(&self) -> String {
        format!("{}/{}", self.published.url(), signing::KEY_FILE)
    }

    /// The key's fingerprint, uppercase hex, as a plan records it.
    pub fn signing_fingerprint(&self) -> &str {
        self.signing.fingerprint()
    }

    /// The download server's `/repositories` (no trailing slash): a project's
    /// repository is at `<this>/<project with ":" as ":/">/<repository>`.
    pub fn published_url(&self) -> String {
        format!("{}/repositories", self.published.url())
    }

    /// Publishes `build` as a GBS snapshot on the download server (metadata
    /// by the sandbox's own writer) and points the tree's `latest` at it;
    /// returns the URL of `latest` (no trailing slash). Called again with
    /// another build, `latest` moves as a release job moves it.
    pub fn publish_gbs(&self, build: &gbs::SampleBuild) -> anyhow::Result<String> {
        let root = self._published_files.path().join("releases");
        if !root.join(&build.id).exists() {
            build.write(&root, gbs::Indexer::Sandbox)?;
        }
        gbs::point_latest(&root, "latest", &build.id)?;
        Ok(format!("{}/releases/latest", self.published.url()))
    }

    /// e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn obs_url(&self) -> &str {
        self.obs.url()
    }

    /// e.g. `http://127.0.0.1:41235` (no trailing slash; the API is under `/api/v1`).
    pub fn packagecloud_url(&self) -> &str {
        self.packagecloud.url()
    }

    pub fn obs(&self) -> &ObsEmulator {
        &self.obs
    }

    pub fn packagecloud(&self) -> &PackagecloudEmulator {
        &self.packagecloud
    }

    /// Stops both servers gracefully; nothing is left running afterwards.
    pub async fn shutdown(self) {
        self.obs.shutdown().await;
        self.packagecloud.shutdown().await;
        self.published.shutdown().await;
    }
}
