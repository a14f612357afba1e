//! The plan: its types (format v1), the pure planner, the canonical file, the
//! renderings and the comparison of two plans.
//!
//! Nothing in here does I/O on the network; `file` reads and writes plan files.

pub mod diff;
pub mod file;
pub mod planner;
pub mod policy;
pub mod render;

use crate::checksum::{Algorithm, Checksum};
use crate::config::EffectiveConfig;
use crate::model::{Provenance, SourceArtifact};
use serde::{Deserialize, Serialize};

pub use planner::{PlanError, plan};

/// Major.minor of the plan file format. Readers refuse an unknown major and
/// ignore unknown fields of a known major (minor additions). 1.2 adds published
/// repositories; 1.3 GBS trees and trees on disk (their build ids and
/// resolved directories) and promotions (sources without a size, `after`); 1.4
/// files listed with sha1 or sha512 instead of sha256; 1.5 a Release's
/// `Valid-Until` in `indexes`. A plan is written in the
/// oldest version that holds its fields, byte for byte as before, so that older
/// readers keep reading it.
pub const FORMAT_VERSION: &str = "1.5";
const FORMAT_VERSION_OTHER_CHECKSUMS: &str = "1.4";
const FORMAT_VERSION_TREES: &str = "1.3";
const FORMAT_VERSION_PUBLISHED: &str = "1.2";
const FORMAT_VERSION_WITHOUT_PUBLISHED: &str = "1.1";

/// The format version of a plan of this config with these actions.
pub fn format_version(
    config: &EffectiveConfig,
    actions: &[Action],
    indexes: &[crate::model::IndexRead],
) -> &'static str {
    let on_disk = config.rpm_md.iter().any(|r| r.url.starts_with("file:"));
    let other_checksums = actions
        .iter()
        .filter_map(|a| a.source.as_ref())
        .any(SourceExpectation::has_other_checksum);
    if indexes.iter().any(|i| i.valid_until.is_some()) {
        FORMAT_VERSION
    } else if other_checksums {
        FORMAT_VERSION_OTHER_CHECKSUMS
    } else if !config.gbs.is_empty() || on_disk || config.promote.is_some() {
        FORMAT_VERSION_TREES
    } else if !config.rpm_md.is_empty() || !config.deb.is_empty() {
        FORMAT_VERSION_PUBLISHED
    } else {
        FORMAT_VERSION_WITHOUT_PUBLISHED
    }
}
pub const FORMAT_MAJOR: u64 = 1;

/// A plan file. Field order here is irrelevant: the file is written with sorted keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: String,
    /// `pkgsync <version>` that wrote the plan.
    pub tool: String,
    /// `blake3:<hex>` of the canonical body without this field.
    pub plan_id: String,
    pub config_digest: String,
    pub config: EffectiveConfig,
    /// The `distro/version`s the config maps: nothing outside is touched.
    pub scope: Vec<String>,
    pub guards: Guards,
    pub observed: Observed,
    pub summary: Summary,
    /// Unchanged packages per `distro/version`, as counts and fingerprints.
    pub unchanged: Vec<UnchangedGroup>,
    /// Orphans not deleted because the build results of their `distro/version`
    /// are incomplete (a failed build, say). Absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<WithheldDeletes>,
    /// The published repositories' indexes as read (format 1.2). Absent when
    /// there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<crate::model::IndexRead>,
    /// `plan --after`: the reviewed plan of the promotion's source repository
    /// this promotion follows (format 1.3). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<After>,
    pub actions: Vec<Action>,
}

/// A promotion's gate: the plan that changed its source repository, and the
/// state that plan led to there. Apply refuses unless the source still holds
/// exactly that (what it uploaded, with these sha256s; none of what it deleted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct After {
    /// The `plan_id` of the source repository's plan.
    pub plan_id: String,
    /// The repository that plan changed: the promotion's source.
    pub repo: String,
    /// What that plan uploaded, with the sha256 found there when this plan was made.
    pub present: Vec<StagedFile>,
    /// What that plan deleted.
    pub absent: Vec<crate::model::ArtifactKey>,
}

impl After {
    /// Whether the plan this one follows uploaded `file` (it is one of the
    /// files that plan led to in the promotion's source).
    pub fn uploaded(&self, file: &crate::model::PromotedFile) -> bool {
        self.present
            .iter()
            .any(|p| p.distro_version == file.distro_version && p.filename == file.filename)
    }
}

/// One file of a promotion's source repository, and its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagedFile {
    pub distro_version: String,
    pub filename: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guards {
    pub max_deletes: usize,
    pub max_delete_percent: u32,
    /// `--allow-deletes N` given for this plan, if any.
    pub allow_deletes: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    pub source: Fingerprint,
    pub target: Fingerprint,
}

/// A count and a blake3 over a canonical listing of what was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub count: usize,
    pub digest: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub upload: usize,
    pub replace: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl Summary {
    pub fn has_changes(&self) -> bool {
        self.upload + self.replace + self.delete > 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnchangedGroup {
    pub distro_version: String,
    pub count: usize,
    pub digest: String,
    /// Only with `plan --list-skips`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithheldDeletes {
    pub distro_version: String,
    /// How many stored files would otherwise have been deleted.
    pub orphans: usize,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Upload,
    /// Delete the stored file, then upload the new one (`sync.replace: true`).
    Replace,
    Delete,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Replace => "replace",
            Self::Delete => "delete",
        }
    }
}

/// One change, with what apply must find before it goes ahead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub action: ActionKind,
    pub distro_version: String,
    pub filename: String,
    pub package_type: String,
    /// Upload and replace: where the file comes from, and what it must look like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceExpectation>,
    /// What the target must hold for this action to go ahead.
    pub target: TargetExpectation,
    /// The stored name is unsafe as a path or to show (a separator, `..`,
    /// control or bidi characters): the reviewer is warned. Format 1.1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsafe_name: bool,
}

impl Action {
    pub fn key(&self) -> crate::model::ArtifactKey {
        crate::model::ArtifactKey::new(&self.distro_version, &self.filename)
    }
}

/// Where an upload's file comes from and what it must look like at apply. For
/// OBS the provenance's fields (`project`, `repository`, `arch`, `package`,
/// `filename`, `mtime`) sit beside `size` and `md5`, as in format 1.0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceExpectation {
    #[serde(flatten)]
    pub provenance: Provenance,
    /// Absent when the source lists no size (a Packagecloud repository: its
    /// sha256 identifies the file; format 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// The sha256 the source lists (published repositories; format 1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// What a repository that lists no sha256 lists instead (format 1.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha512: Option<String>,
    /// Further origins that list the very same file (a noarch rpm in two
    /// arch trees), for the reviewer; apply fetches from `provenance`. Only
    /// in plans that have such files, so no other plan's bytes change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_listed_by: Vec<String>,
}

impl SourceExpectation {
    pub fn from_artifact(artifact: &SourceArtifact) -> Self {
        Self {
            also_listed_by: Vec::new(),
            provenance: artifact.provenance.clone(),
            size: artifact.size,
            md5: artifact.md5.clone(),
            sha256: artifact.sha256.clone(),
            sha1: artifact.sha1.clone(),
            sha512: artifact.sha512.clone(),
        }
    }

    /// The checksum listed for `algorithm`, if any.
    pub fn listed(&self, algorithm: Algorithm) -> Option<&str> {
        match algorithm {
            Algorithm::Md5 => self.md5.as_deref(),
            Algorithm::Sha1 => self.sha1.as_deref(),
            Algorithm::Sha256 => self.sha256.as_deref(),
            Algorithm::Sha512 => self.sha512.as_deref(),
        }
    }

    /// Every checksum listed.
    pub fn checksums(&self) -> Vec<Checksum> {
        [
            Algorithm::Md5,
            Algorithm::Sha1,
            Algorithm::Sha256,
            Algorithm::Sha512,
        ]
        .into_iter()
        .filter_map(|algorithm| {
            self.listed(algorithm).map(|hex| Checksum {
                algorithm,
                hex: hex.to_string(),
            })
        })
        .collect()
    }

    /// Listed with sha1 or sha512, which plans before format 1.4 did not hold.
    pub fn has_other_checksum(&self) -> bool {
        self.sha1.is_some() || self.sha512.is_some()
    }
}

/// `{"present": false}` or `{"present": true, "sha256": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetExpectation {
    pub present: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl TargetExpectation {
    pub fn absent() -> Self {
        Self {
            present: false,
            sha256: None,
        }
    }
}
