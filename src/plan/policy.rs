//! The rules a plan is made by: sync mode, scope, protected patterns and the
//! deletion guards.

pub use crate::config::SyncMode;
use crate::config::{Config, DistroMapping, Filters, Patterns};
use crate::model::{ArtifactKey, TargetInventory};
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
pub struct Policy {
    pub mode: SyncMode,
    /// The `distro/version`s the config maps; nothing outside is ever deleted.
    pub scope: BTreeSet<String>,
    /// Matched against the filename and against `distro/version/filename`; a
    /// match is never deleted.
    pub protect: Patterns,
    pub max_deletes: usize,
    pub max_delete_percent: u32,
    /// `--allow-deletes N`: lifts both guards for up to N deletes, for one run.
    pub allow_deletes: Option<usize>,
    /// Replace a file whose content differs (delete + upload) instead of failing.
    pub replace: bool,
    /// `sync.allow_downgrade`: deletes of packages the source offers only
    /// older versions of are not refused.
    pub allow_downgrade: bool,
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
    /// The rules of `config`, its `distro/version`s named as `canonical` gives
    /// them (the names Packagecloud's listing uses).
    pub fn new(
        config: &Config,
        canonical: impl Fn(&str) -> String,
        allow_deletes: Option<usize>,
    ) -> Self {
        let settings = &config.policy_settings;
        let mut mapping = config.distro_mapping.clone();
        for target in mapping.values_mut().flatten() {
            *target = canonical(target);
        }
        let mut scope = scope(&mapping, &config.filters);
        // A published repository is whole by construction: its distro is in scope.
        scope.extend(config.rpm_md.iter().map(|r| canonical(&r.distro_version)));
        scope.extend(config.deb.iter().map(|r| canonical(&r.distro_version)));
        // A GBS tree's repos as a mapping's: filtered by their repo names.
        for tree in &config.gbs {
            let repos = tree.mapping.iter().map(|(key, target)| {
                let repo = key.split('/').next().unwrap_or(key);
                (repo, target.as_deref())
            });
            scope.extend(
                scope_of(repos, &config.filters)
                    .into_iter()
                    .map(|t| canonical(&t)),
            );
        }
        // So is a Packagecloud repository, in the `distro/version`s the config names.
        let promoted = config.promote.iter().filter_map(|p| p.distros.as_ref());
        scope.extend(promoted.flat_map(|d| d.values().map(|to| canonical(to))));
        Self {
            mode: settings.mode,
            scope,
            protect: config.protect.clone(),
            max_deletes: settings.max_deletes,
            max_delete_percent: settings.max_delete_percent,
            allow_deletes,
            replace: settings.replace,
            allow_downgrade: settings.allow_downgrade,
            deletable: Deletable {
                source_packages: config.filters.source_packages,
                debug_packages: config.filters.debug_packages,
            },
        }
    }

    /// How many stored packages are in scope: what the deletion guards' share
    /// is taken of.
    pub fn in_scope(&self, target: &TargetInventory) -> usize {
        target
            .packages
            .keys()
            .filter(|k| self.scope.contains(&k.distro_version))
            .count()
    }

    /// `sync.protect` matches the filename or `distro/version/filename`.
    pub fn is_protected(&self, key: &ArtifactKey) -> bool {
        self.protect.match_any(&[&key.filename, &key.path()])
    }
}

/// The `distro/version`s a mapping maps to: the scope of deletes. One also fed
/// by a repository the filters leave out is not in scope: its files there are
/// not this config's to judge.
pub fn scope(mapping: &DistroMapping, filters: &Filters) -> BTreeSet<String> {
    let pairs = mapping
        .iter()
        .map(|(repository, target)| (repository.as_str(), target.as_deref()));
    scope_of(pairs, filters)
}

/// [`scope`] of `(repository, target)` pairs.
fn scope_of<'a>(
    pairs: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    filters: &Filters,
) -> BTreeSet<String> {
    let (kept, left_out): (Vec<_>, Vec<_>) = pairs
        .filter_map(|(repository, target)| Some((repository, target?)))
        .partition(|(repository, _)| filters.repositories.admits(&[repository]));
    let left_out: BTreeSet<&str> = left_out.into_iter().map(|(_, t)| t).collect();
    kept.into_iter()
        .map(|(_, t)| t)
        .filter(|t| !left_out.contains(t))
        .map(str::to_string)
        .collect()
}
