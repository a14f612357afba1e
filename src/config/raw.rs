//! The config file as serde reads it: every key, nothing validated yet.
//! Unknown keys are refused, so a typo is an error, not a silent default.

use super::{Secret, SyncMode};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    /// kata-pkgsync's free text; accepted and ignored.
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<serde_yaml::Value>,
    #[serde(default)]
    pub(super) obs: RawObs,
    #[serde(default)]
    pub(super) obsprojects: BTreeMap<String, RawObsProject>,
    /// Published rpm-md repositories, each into one `distro/version`.
    #[serde(default, rename = "rpm-md")]
    pub(super) rpm_md: Vec<RawRpmMd>,
    /// Published Debian archives, each into one `distro/version`.
    #[serde(default)]
    pub(super) deb: Vec<RawDeb>,
    /// GBS snapshot trees, each repo (or repo/arch) into a `distro/version`.
    #[serde(default)]
    pub(super) gbs: Vec<RawGbs>,
    pub(super) packagecloud: RawPackagecloud,
    /// Another Packagecloud repository as the source (staging → production).
    #[serde(default)]
    pub(super) promote: Option<RawPromote>,
    #[serde(default, rename = "distro-mapping")]
    pub(super) distro_mapping: BTreeMap<String, Option<String>>,
    #[serde(default)]
    pub(super) filters: RawFilters,
    #[serde(default)]
    pub(super) sync: RawSync,
    #[serde(default)]
    pub(super) apply: RawApply,
    #[serde(default)]
    pub(super) limits: RawLimits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObs {
    pub(super) url: Option<String>,
    pub(super) auth: Option<RawObsAuth>,
    pub(super) concurrency: Option<usize>,
    /// Read the projects' published repositories instead of the build API.
    #[serde(default)]
    pub(super) published: bool,
    pub(super) download_url: Option<String>,
    /// The key the projects' repositories are signed with (`osc signkey`).
    pub(super) signed_by: Option<std::path::PathBuf>,
    /// Credentials for `download_url`'s host.
    pub(super) published_auth: Option<RawRepositoryAuth>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObsAuth {
    pub(super) user: Option<String>,
    pub(super) password: Option<Secret>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObsProject {
    /// Parsed by kata-pkgsync and never used; accepted with a warning.
    pub(super) name: Option<String>,
    pub(super) auth: Option<RawObsAuth>,
    #[serde(default)]
    pub(super) releases: Vec<String>,
    #[serde(default)]
    pub(super) architectures: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPackagecloud {
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) auth: RawPackagecloudAuth,
    pub(super) repo: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPackagecloudAuth {
    pub(super) user: Option<String>,
    pub(super) token: Option<Secret>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFilters {
    #[serde(default)]
    pub(super) repositories: RawPatterns,
    #[serde(default)]
    pub(super) architectures: RawPatterns,
    #[serde(default)]
    pub(super) packages: RawPatterns,
    #[serde(default)]
    pub(super) source_packages: bool,
    #[serde(default)]
    pub(super) debug_packages: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPatterns {
    #[serde(default)]
    pub(super) include: Vec<String>,
    #[serde(default)]
    pub(super) exclude: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSync {
    pub(super) mode: Option<SyncMode>,
    #[serde(default)]
    pub(super) protect: Vec<String>,
    pub(super) max_deletes: Option<usize>,
    pub(super) max_delete_percent: Option<u32>,
    #[serde(default)]
    pub(super) replace: bool,
    #[serde(default)]
    pub(super) verify_unchanged: bool,
    #[serde(default)]
    pub(super) allow_downgrade: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) max_metadata_mib: Option<u64>,
    pub(super) request_timeout_secs: Option<u64>,
    pub(super) min_bytes_per_second: Option<u64>,
    pub(super) slow_seconds: Option<u64>,
    pub(super) max_listed_packages: Option<usize>,
    pub(super) max_result_mib: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApply {
    pub(super) downloads: Option<usize>,
    pub(super) uploads: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRpmMd {
    pub(super) url: String,
    pub(super) distro: String,
    /// Armored public key(s) `repomd.xml.asc` must verify against.
    pub(super) signed_by: Option<std::path::PathBuf>,
    /// Hosts other than the repository's its metadata may send downloads to.
    #[serde(default)]
    pub(super) allow_hosts: Vec<String>,
    /// Credentials for the repository's host.
    pub(super) auth: Option<RawRepositoryAuth>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeb {
    pub(super) url: String,
    pub(super) distro: String,
    /// Absent for a flat repository (`deb URL /`).
    pub(super) suite: Option<String>,
    #[serde(default)]
    pub(super) components: Vec<String>,
    #[serde(default)]
    pub(super) architectures: Vec<String>,
    /// Armored public key(s) `InRelease` / `Release.gpg` must verify against.
    pub(super) signed_by: Option<std::path::PathBuf>,
    /// Credentials for the repository's host.
    pub(super) auth: Option<RawRepositoryAuth>,
    /// `false` accepts a Release past its `Valid-Until` (apt's `Check-Valid-Until`).
    #[serde(default = "yes")]
    pub(super) check_valid_until: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGbs {
    pub(super) url: String,
    #[serde(default)]
    pub(super) mapping: BTreeMap<String, Option<String>>,
    /// Armored public key(s) each repository's `repomd.xml.asc` must verify against.
    pub(super) signed_by: Option<std::path::PathBuf>,
    /// Credentials for the repository's host.
    pub(super) auth: Option<RawRepositoryAuth>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPromote {
    /// `user/repo` on the target's Packagecloud host.
    pub(super) from: String,
    #[serde(default)]
    pub(super) method: crate::model::PromoteMethod,
    #[serde(default)]
    pub(super) auth: RawPromoteAuth,
    /// Source `distro/version` → target `distro/version` (null: the same).
    pub(super) distros: Option<BTreeMap<String, Option<String>>>,
    /// Plans must follow a reviewed plan of the source (`plan --after`).
    #[serde(default)]
    pub(super) require_after: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPromoteAuth {
    pub(super) token: Option<Secret>,
}

/// `auth:` of a published repository: one kind of request credential (basic,
/// netrc, bearer, header), a client certificate, a CA bundle.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRepositoryAuth {
    pub(super) user: Option<String>,
    pub(super) user_env: Option<String>,
    pub(super) password: Option<Secret>,
    pub(super) password_env: Option<String>,
    /// Basic credentials from `$NETRC` or `~/.netrc` for the host.
    #[serde(default)]
    pub(super) netrc: bool,
    pub(super) bearer_env: Option<String>,
    /// A header's name; its value from `header_env`.
    pub(super) header: Option<String>,
    pub(super) header_env: Option<String>,
    pub(super) client_cert: Option<std::path::PathBuf>,
    pub(super) client_key: Option<std::path::PathBuf>,
    pub(super) ca_bundle: Option<std::path::PathBuf>,
}
