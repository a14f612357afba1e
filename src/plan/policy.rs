//! The rules a plan is made by: sync mode, scope, protected patterns and the
//! deletion guards.

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Upload what is missing; never delete.
    Additive,
    /// Also delete orphans: packages in scope that the source no longer has.
    Mirror,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: SyncMode,
    /// The `distro/version`s the config maps; nothing outside is ever deleted.
    pub scope: BTreeSet<String>,
    /// Glob patterns, matched against the filename and against
    /// `distro/version/filename`; a match is never deleted.
    pub protect: Vec<String>,
    pub max_deletes: usize,
    pub max_delete_percent: u32,
    /// `--allow-deletes N`: lifts both guards for up to N deletes, for one run.
    pub allow_deletes: Option<usize>,
    /// Replace a file whose content differs (delete + upload) instead of failing.
    pub replace: bool,
    /// Which optional kinds of package this config syncs, so may also delete.
    pub deletable: Deletable,
}

/// Source and debug packages are only synced when the filters ask for them; only
/// then can an orphan of that kind be ours to delete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deletable {
    pub source_packages: bool,
    pub debug_packages: bool,
}

impl Policy {
    pub fn protect_set(&self) -> Result<GlobSet, globset::Error> {
        let mut builder = GlobSetBuilder::new();
        for pattern in &self.protect {
            builder.add(Glob::new(pattern)?);
        }
        builder.build()
    }
}
