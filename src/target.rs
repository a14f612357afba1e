//! The target: the one repository a plan changes. The observe stage reads it
//! (its distributions and its listing), apply's check phase reads it again,
//! and only apply's execute phase writes to it (uploads, deletes, a
//! promotion's moves).
//!
//! `Target` is an enum, like `source::Source` and for the same reasons: the
//! set is closed and known here, its methods stay plain `async fn`, and a new
//! kind of target is a new variant whose every `match` the compiler then
//! lists. Today there is one kind, a Packagecloud repository; the errors are
//! Packagecloud's, and a second kind would bring its own beside them.

use crate::config::PackagecloudTarget;
use crate::http::{HttpClient, RetryPolicy};
use crate::model::{ArtifactKey, TargetInventory, TargetPackage};
use crate::packagecloud::{
    DeleteOutcome, DistroIndex, PackagecloudClient, PackagecloudError, UploadOutcome,
};
use std::path::Path;

pub(crate) enum Target {
    Packagecloud(PackagecloudClient),
}

impl Target {
    pub fn packagecloud(http: HttpClient, config: &PackagecloudTarget) -> Self {
        Target::Packagecloud(PackagecloudClient::new(http, config))
    }

    /// `user/repo`, as plans and messages name it.
    pub fn repo(&self) -> &str {
        match self {
            Target::Packagecloud(client) => client.repo(),
        }
    }

    /// How often a write is tried before it fails.
    pub fn retry_policy(&self) -> &RetryPolicy {
        match self {
            Target::Packagecloud(client) => client.retry_policy(),
        }
    }

    /// Whether the credentials see the repository; `true` if it is private.
    pub async fn repository(&self) -> Result<bool, PackagecloudError> {
        match self {
            Target::Packagecloud(client) => client.repository().await,
        }
    }

    /// The `distro/version`s the target knows, by name and id.
    pub async fn distributions(&self) -> Result<DistroIndex, PackagecloudError> {
        match self {
            Target::Packagecloud(client) => client.distributions().await,
        }
    }

    /// Everything stored, complete or an error; `with_details` also keeps
    /// what `sync.verify_unchanged` looks up per file.
    pub async fn list(&self, with_details: bool) -> Result<TargetInventory, PackagecloudError> {
        match (self, with_details) {
            (Target::Packagecloud(client), true) => client.list_with_details().await,
            (Target::Packagecloud(client), false) => client.list().await,
        }
    }

    /// The md5 of a stored file, where the target tells it.
    pub async fn read_md5(
        &self,
        package: &TargetPackage,
    ) -> Result<Option<String>, PackagecloudError> {
        match self {
            Target::Packagecloud(client) => client.read_md5(package).await,
        }
    }

    /// Stores the file at `path` as `key`, verified to be stored with `sha256`.
    pub async fn upload(
        &self,
        path: &Path,
        distro_version_id: u64,
        key: &ArtifactKey,
        sha256: &str,
    ) -> Result<UploadOutcome, PackagecloudError> {
        match self {
            Target::Packagecloud(client) => {
                client.upload(path, distro_version_id, key, sha256).await
            }
        }
    }

    pub async fn delete(&self, key: &ArtifactKey) -> Result<DeleteOutcome, PackagecloudError> {
        match self {
            Target::Packagecloud(client) => client.delete(key).await,
        }
    }

    /// The Packagecloud repository a promotion moves files into: its promote
    /// call only works between two Packagecloud repositories.
    pub fn as_packagecloud(&self) -> &PackagecloudClient {
        match self {
            Target::Packagecloud(client) => client,
        }
    }
}
