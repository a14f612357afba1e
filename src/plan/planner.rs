//! The planner: a pure function of (source inventory, target inventory, policy).
//! No I/O, no clock, no randomness: the same inputs give the same plan.
//!
//! Rules, per `(distro/version, filename)`:
//! - in the source only → `upload`;
//! - on both → unchanged, unless both sides know a checksum of the same kind and
//!   they differ: then `replace` when the policy allows it, else a conflict that
//!   fails the plan;
//! - on the target only → `delete`, when the mode is `mirror`, the distro/version is
//!   in scope, the file is of a kind this config could have produced, and no
//!   `protect` pattern matches. The deletion guards then bound how many.

use super::policy::{Policy, SyncMode};
use super::{
    Action, ActionKind, Fingerprint, Guards, Observed, Plan, SourceExpectation, Summary,
    TargetExpectation, UnchangedGroup, WithheldDeletes,
};
use crate::config::EffectiveConfig;
use crate::digest::fingerprint_lines;
use crate::model::{
    ArtifactKey, Coverage, Provenance, SourceArtifact, SourceInventory, TargetInventory,
    TargetPackage, file_arch, synced_as,
};
use std::collections::BTreeMap;

/// What the planner needs besides the two inventories and the policy.
#[derive(Debug, Clone)]
pub struct PlanContext {
    pub config: EffectiveConfig,
    /// List unchanged files by name (`plan --list-skips`).
    pub list_skips: bool,
    /// `plan --after`: the reviewed plan of the promotion's source this plan follows.
    pub after: Option<super::After>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub key: ArtifactKey,
    pub origin: String,
    pub detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "{} file(s) differ between their source and Packagecloud: {}",
        .0.len(),
        .0.iter().map(|c| format!("`{}` ({})", c.key, c.detail)).collect::<Vec<_>>().join(", ")
    )]
    Conflicts(Vec<Conflict>),
    #[error(
        "deletion guard tripped: the plan would delete {} of {in_scope} package(s) in scope ({reason})",
        deletes.len()
    )]
    GuardTripped {
        deletes: Vec<ArtifactKey>,
        in_scope: usize,
        reason: String,
    },
    #[error(
        "the source went backwards: the plan would delete {} package(s) of which it now offers only older versions: {}",
        .0.len(),
        .0.iter().map(|d| format!("`{}` (offered: {})", d.deleted, d.offered.join(", "))).collect::<Vec<_>>().join("; ")
    )]
    Downgrade(Vec<Downgrade>),
}

/// A stored package a plan would delete while the source offers only older
/// versions of it.
#[derive(Debug, Clone)]
pub struct Downgrade {
    pub deleted: ArtifactKey,
    pub offered: Vec<String>,
}

/// The deletes of `keys` whose package the source still offers in the same
/// `distro/version`, but only in older versions (same name, arch and type;
/// rpm's and Debian's version order): what a source that went backwards (an
/// old snapshot served again) would make a mirror plan delete.
pub fn downgrades(keys: &[ArtifactKey], source: &SourceInventory) -> Vec<Downgrade> {
    if keys.is_empty() {
        return Vec::new();
    }
    let mut offered: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for key in source.artifacts.keys() {
        if let Some(name) = crate::model::binary_name(&key.filename) {
            let at = (key.distro_version.as_str(), name);
            offered.entry(at).or_default().push(&key.filename);
        }
    }
    let mut found = Vec::new();
    for key in keys {
        let Some(name) = crate::model::binary_name(&key.filename) else {
            continue;
        };
        let Some(candidates) = offered.get(&(key.distro_version.as_str(), name)) else {
            continue;
        };
        let versions: Vec<(&str, std::cmp::Ordering)> = candidates
            .iter()
            .filter_map(|f| Some((*f, crate::model::compare_versions(f, &key.filename)?)))
            .collect();
        let older =
            !versions.is_empty() && versions.iter().all(|(_, o)| *o == std::cmp::Ordering::Less);
        if older {
            found.push(Downgrade {
                deleted: key.clone(),
                offered: versions.iter().map(|(f, _)| f.to_string()).collect(),
            });
        }
    }
    found
}

pub fn plan(
    source: &SourceInventory,
    target: &TargetInventory,
    policy: &Policy,
    context: &PlanContext,
) -> Result<Plan, PlanError> {
    let Compared {
        mut actions,
        unchanged,
    } = compare(source, target, policy)?;
    let (deletes, withheld) = orphans(source, target, policy);
    let in_scope = policy.in_scope(target);
    let guards = Guards {
        max_deletes: policy.max_deletes,
        max_delete_percent: policy.max_delete_percent,
        allow_deletes: policy.allow_deletes,
    };
    let keys: Vec<ArtifactKey> = deletes.iter().map(Action::key).collect();
    let downgrades = downgrades(&keys, source);
    if !downgrades.is_empty() && !policy.allow_downgrade {
        return Err(PlanError::Downgrade(downgrades));
    }
    check_guards(&keys, in_scope, &guards)?;
    actions.extend(deletes);

    actions.sort_by(|a, b| {
        (&a.distro_version, &a.filename, a.action).cmp(&(&b.distro_version, &b.filename, b.action))
    });
    let count = |kind| actions.iter().filter(|a| a.action == kind).count();
    let summary = Summary {
        upload: count(ActionKind::Upload),
        replace: count(ActionKind::Replace),
        delete: count(ActionKind::Delete),
        unchanged: unchanged.values().map(Vec::len).sum(),
    };
    let mut indexes = source.read.clone();
    indexes.sort();
    let mut plan = Plan {
        format_version: super::format_version(&context.config, &actions, &indexes).to_string(),
        tool: format!("pkgsync {}", env!("CARGO_PKG_VERSION")),
        plan_id: String::new(),
        config_digest: context.config.digest(),
        config: context.config.clone(),
        scope: policy.scope.iter().cloned().collect(),
        guards,
        observed: Observed {
            source: Fingerprint {
                count: source.artifacts.len(),
                digest: fingerprint_lines(|| source.artifacts.values().map(source_line)),
            },
            target: Fingerprint {
                count: target.packages.len(),
                digest: fingerprint_lines(|| target.packages.values().map(target_line)),
            },
        },
        summary,
        unchanged: unchanged_groups(unchanged, context.list_skips),
        withheld,
        indexes,
        after: context.after.clone(),
        actions,
    };
    plan.plan_id = super::file::plan_id(&plan);
    Ok(plan)
}

/// What the source offers, against what the target holds.
struct Compared<'t> {
    /// Uploads and replaces.
    actions: Vec<Action>,
    /// Stored packages the source offers as they are, per `distro/version`.
    unchanged: BTreeMap<String, Vec<&'t TargetPackage>>,
}

/// Every source artifact: an upload, unchanged, a replace, or a conflict that
/// fails the plan.
fn compare<'t>(
    source: &SourceInventory,
    target: &'t TargetInventory,
    policy: &Policy,
) -> Result<Compared<'t>, PlanError> {
    let mut compared = Compared {
        actions: Vec::new(),
        unchanged: BTreeMap::new(),
    };
    let mut conflicts = Vec::new();
    for (key, artifact) in &source.artifacts {
        let Some(stored) = target.packages.get(key) else {
            let absent = TargetExpectation::absent();
            compared
                .actions
                .push(upload(source, artifact, ActionKind::Upload, absent));
            continue;
        };
        match content_difference(artifact, stored) {
            // A protected file is never deleted, so never replaced either.
            Some(_) if policy.is_protected(key) => {}
            None => {}
            Some(_) if policy.replace => {
                let expect = TargetExpectation {
                    present: true,
                    sha256: stored.sha256.clone(),
                };
                compared
                    .actions
                    .push(upload(source, artifact, ActionKind::Replace, expect));
                continue;
            }
            Some(detail) => {
                conflicts.push(Conflict {
                    key: key.clone(),
                    origin: artifact.provenance.to_string(),
                    detail,
                });
                continue;
            }
        }
        compared
            .unchanged
            .entry(key.distro_version.clone())
            .or_default()
            .push(stored);
    }
    if !conflicts.is_empty() {
        return Err(PlanError::Conflicts(conflicts));
    }
    Ok(compared)
}

/// The deletes of stored files the source does not offer, and per
/// `distro/version` how many were withheld for incomplete knowledge.
fn orphans(
    source: &SourceInventory,
    target: &TargetInventory,
    policy: &Policy,
) -> (Vec<Action>, Vec<WithheldDeletes>) {
    let mut deletes = Vec::new();
    // Per distro/version: how many, and per reason the files it withheld.
    let mut withheld: BTreeMap<String, (usize, BTreeMap<&str, Vec<&str>>)> = BTreeMap::new();
    for (key, stored) in &target.packages {
        match orphan_rule(key, source, policy) {
            Orphan::Keep => {}
            Orphan::Withheld => {
                let entry = withheld.entry(key.distro_version.clone()).or_default();
                entry.0 += 1;
                let coverage = &source.coverage[&key.distro_version];
                if coverage.incomplete.is_empty() {
                    for reason in coverage.withholding(&key.filename) {
                        entry.1.entry(reason).or_default().push(&key.filename);
                    }
                }
            }
            Orphan::Delete => deletes.push(Action {
                action: ActionKind::Delete,
                distro_version: key.distro_version.clone(),
                filename: key.filename.clone(),
                package_type: stored.package_type.clone(),
                source: None,
                target: TargetExpectation {
                    present: true,
                    sha256: stored.sha256.clone(),
                },
                unsafe_name: !crate::model::is_safe_filename(&key.filename),
            }),
        }
    }
    let withheld = withheld
        .into_iter()
        .map(|(distro_version, (orphans, by_reason))| WithheldDeletes {
            reasons: withheld_reasons(&source.coverage[&distro_version], by_reason),
            distro_version,
            orphans,
        })
        .collect();
    (deletes, withheld)
}

/// The whole picture's reasons when it is incomplete; else each unsettled
/// build's reason with the stored files it withheld.
fn withheld_reasons(coverage: &Coverage, by_reason: BTreeMap<&str, Vec<&str>>) -> Vec<String> {
    if !coverage.incomplete.is_empty() {
        return coverage.incomplete.clone();
    }
    by_reason
        .into_iter()
        .map(|(reason, files)| {
            let files: Vec<String> = files.iter().map(|f| format!("`{f}`")).collect();
            format!("{reason}: withholds {}", files.join(", "))
        })
        .collect()
}

fn unchanged_groups(
    unchanged: BTreeMap<String, Vec<&TargetPackage>>,
    list_skips: bool,
) -> Vec<UnchangedGroup> {
    unchanged
        .into_iter()
        .map(|(distro_version, packages)| UnchangedGroup {
            count: packages.len(),
            digest: fingerprint_lines(|| packages.iter().map(|p| target_line(p))),
            files: list_skips.then(|| packages.iter().map(|p| p.key.filename.clone()).collect()),
            distro_version,
        })
        .collect()
}

fn upload(
    source: &SourceInventory,
    artifact: &SourceArtifact,
    kind: ActionKind,
    target: TargetExpectation,
) -> Action {
    let mut expect = SourceExpectation::from_artifact(artifact);
    if let Some(also) = source.also_listed.get(&artifact.key) {
        expect.also_listed_by = also.iter().cloned().collect();
    }
    Action {
        action: kind,
        distro_version: artifact.key.distro_version.clone(),
        filename: artifact.key.filename.clone(),
        package_type: artifact.package_type.as_str().to_string(),
        source: Some(expect),
        target,
        unsafe_name: false,
    }
}

/// `Some(explanation)` when both sides know a checksum of the same kind and the
/// checksums differ. OBS build areas give md5 and Packagecloud listings sha256,
/// so this fires when `sync.verify_unchanged` had the md5 of both sides read.
fn content_difference(artifact: &SourceArtifact, stored: &TargetPackage) -> Option<String> {
    let differ = |ours: &Option<String>, theirs: &Option<String>| match (ours, theirs) {
        (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => Some((a.clone(), b.clone())),
        _ => None,
    };
    if let Some((ours, theirs)) = differ(&artifact.sha256, &stored.sha256) {
        return Some(format!(
            "sha256 at the source `{ours}`, on Packagecloud `{theirs}`"
        ));
    }
    differ(&artifact.md5, &stored.md5)
        .map(|(ours, theirs)| format!("md5 at the source `{ours}`, on Packagecloud `{theirs}`"))
}

/// What to do with a stored file the source does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orphan {
    /// Not ours to delete: another mode, scope, kind or arch, or protected.
    Keep,
    /// Ours, but the source's knowledge of its `distro/version` is incomplete.
    Withheld,
    Delete,
}

/// The one rule for deletes, used by plan and again by apply: only in `mirror`
/// mode, in scope, unprotected, of a kind and arch the configured OBS
/// repositories build, and only when their build results are complete.
pub fn orphan_rule(key: &ArtifactKey, source: &SourceInventory, policy: &Policy) -> Orphan {
    let ours = policy.mode == SyncMode::Mirror
        && !source.artifacts.contains_key(key)
        && policy.scope.contains(&key.distro_version)
        && could_have_produced(&key.filename, policy)
        && !policy.is_protected(key);
    let coverage = source.coverage.get(&key.distro_version);
    let built_here = coverage
        .zip(file_arch(&key.filename))
        .is_some_and(|(c, arch)| c.every_arch || c.archs.contains(arch));
    match coverage {
        _ if !ours || !built_here => Orphan::Keep,
        Some(c) if !c.withholding(&key.filename).is_empty() => Orphan::Withheld,
        _ => Orphan::Delete,
    }
}

/// A delete may only hit a kind of file this config could have uploaded
/// (`model::synced_as`, the same rule that decides uploads).
fn could_have_produced(filename: &str, policy: &Policy) -> bool {
    let d = policy.deletable;
    synced_as(filename, d.source_packages, d.debug_packages).is_some()
}

/// The deletion guards, shared by plan and apply: `deletes` out of `in_scope`
/// packages may go only within both limits, or within `--allow-deletes`.
pub fn check_guards(
    deletes: &[ArtifactKey],
    in_scope: usize,
    policy: &Guards,
) -> Result<(), PlanError> {
    let count = deletes.len();
    if count == 0 || policy.allow_deletes.is_some_and(|allowed| count <= allowed) {
        return Ok(());
    }
    let mut reasons = Vec::new();
    if count > policy.max_deletes {
        reasons.push(format!(
            "more than `sync.max_deletes` = {}",
            policy.max_deletes
        ));
    }
    // count / in_scope > percent / 100, in integers.
    if count * 100 > policy.max_delete_percent as usize * in_scope {
        reasons.push(format!(
            "more than `sync.max_delete_percent` = {}%",
            policy.max_delete_percent
        ));
    }
    if reasons.is_empty() {
        return Ok(());
    }
    if let Some(allowed) = policy.allow_deletes {
        reasons.push(format!("`--allow-deletes {allowed}` is fewer"));
    }
    Err(PlanError::GuardTripped {
        deletes: deletes.to_vec(),
        in_scope,
        reason: reasons.join("; "),
    })
}

/// One line per artifact: what tells that the source changed. Format 1.0's
/// lines for OBS (`size, mtime, md5, origin`), so fingerprints stay comparable.
fn source_line(a: &SourceArtifact) -> String {
    let md5 = a.md5.as_deref().unwrap_or("-");
    match &a.provenance {
        Provenance::Obs(built) => format!(
            "{}\t{}\t{}\t{}\t{md5}\t{}",
            a.key.distro_version,
            a.key.filename,
            a.size.unwrap_or_default(),
            built.mtime,
            built.origin
        ),
        Provenance::RpmMd(file) => published_line(a, &file.url()),
        Provenance::Deb(file) => published_line(a, &file.url()),
        Provenance::Gbs(file) => published_line(a, &file.url()),
        Provenance::Promotion(file) => format!(
            "{}\t{}\t{}\t{}/{}/{}",
            a.key.distro_version,
            a.key.filename,
            a.sha256.as_deref().unwrap_or("-"),
            file.repo,
            file.distro_version,
            file.method.as_str()
        ),
    }
}

fn published_line(a: &SourceArtifact, url: &str) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{url}",
        a.key.distro_version,
        a.key.filename,
        a.size.unwrap_or_default(),
        a.sha256.as_deref().unwrap_or("-"),
    )
}

fn target_line(p: &TargetPackage) -> String {
    format!(
        "{}\t{}\t{}",
        p.key.distro_version,
        p.key.filename,
        p.sha256.as_deref().unwrap_or("-")
    )
}
