//! Apply's first phase: every precondition, checked with reads only. What it
//! returns, [`Approved`], is the one way into the second phase, and only this
//! module can build one.

use super::journal::{Outcome, StoredCopy};
use super::preconditions::{self, Verdict};
use super::progress::Progress;
use super::{ApplyError, ApplyOptions, Context, fetch, record};
use crate::model::{ArtifactKey, PackageType, TargetInventory};
use crate::observe::{self, Resolved};
use crate::packagecloud::PackagecloudError;
use crate::plan::planner::{Orphan, check_guards, orphan_rule};
use crate::plan::{Action, ActionKind, After, Guards, Plan, SourceExpectation};
use crate::promotion::PromotionError;
use crate::source::{Rechecked, SourceError};
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeMap;

/// A plan whose every precondition held when it was checked: the uploads still
/// to run (with whether the stored file goes first), the deletes, the distro id
/// of every upload, and where each file is to be downloaded from.
pub struct Approved<'p> {
    plan: &'p Plan,
    uploads: Vec<(&'p Action, bool)>,
    deletes: Vec<&'p Action>,
    distro_ids: BTreeMap<ArtifactKey, u64>,
    rechecked: Rechecked,
    progress: Progress,
}

impl<'p> Approved<'p> {
    pub fn plan(&self) -> &'p Plan {
        self.plan
    }

    /// Each upload, and whether the file stored under its name is deleted first
    /// (a replace, or the repair of a copy an earlier run left damaged).
    pub fn uploads(&self) -> &[(&'p Action, bool)] {
        &self.uploads
    }

    pub fn deletes(&self) -> &[&'p Action] {
        &self.deletes
    }

    pub fn distro_id(&self, key: &ArtifactKey) -> u64 {
        self.distro_ids[key]
    }

    pub fn rechecked(&self) -> &Rechecked {
        &self.rechecked
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }
}

/// The actions sorted by what the observation says about them.
struct Triage<'p> {
    pending: Vec<&'p Action>,
    compare: Vec<(&'p Action, Option<String>)>,
}

pub async fn check<'p>(
    plan: &'p Plan,
    ctx: &Context<'_>,
    options: &ApplyOptions,
) -> Result<Approved<'p>, ApplyError> {
    config_unchanged(plan, ctx)?;

    // Observe both sides again: the whole target, and the files the plan
    // uploads, each by its own source.
    let planned: Vec<&SourceExpectation> = plan
        .actions
        .iter()
        .filter_map(|a| a.source.as_ref())
        .collect();
    let (target, rechecked) = tokio::try_join!(
        async { Ok::<_, ApplyError>(ctx.target.list(false).await?) },
        async { Ok(ctx.sources.recheck(&planned).await?) },
    )?;
    let older = crate::source::rolled_back(&plan.indexes, &rechecked.1);
    if !older.is_empty() {
        return Err(ApplyError::Stale(older));
    }
    match &plan.after {
        Some(after) => promotion_gate(ctx, after, &target).await?,
        None if ctx.config.promote.as_ref().is_some_and(|p| p.require_after) => {
            return Err(ApplyError::Stale(vec![
                "the plan follows no reviewed plan of the promotion's source, which `promote.require_after` asks for".into(),
            ]));
        }
        None => {}
    }
    let Triage { pending, compare } = triage(plan, ctx, &target, &rechecked)?;

    let (uploads, deletes): (Vec<&Action>, Vec<&Action>) = pending
        .iter()
        .copied()
        .partition(|a| a.action != ActionKind::Delete);
    let to_compare: Vec<&Action> = compare.iter().map(|(a, _)| *a).collect();
    let mut distro_ids = BTreeMap::new();
    if !pending.is_empty() || !compare.is_empty() {
        let index = ctx.target.distributions().await?;
        let resolved = Resolved::new(ctx.config, index).map_err(PackagecloudError::from)?;
        let all_uploads: Vec<&Action> = uploads.iter().chain(&to_compare).copied().collect();
        distro_ids = upload_distro_ids(&all_uploads, &resolved)?;
        let mut stale = admit_uploads(plan, ctx, &all_uploads, &resolved);
        if stale.is_empty() && !deletes.is_empty() {
            stale = admit_deletes(plan, ctx, &deletes, &target, &resolved).await?;
        }
        if !stale.is_empty() {
            return Err(ApplyError::Stale(stale));
        }
    }

    let total_bytes = uploads
        .iter()
        .chain(&to_compare)
        .filter_map(|a| a.source.as_ref())
        .filter_map(|s| s.size)
        .sum();
    let progress = Progress::new(
        options.progress,
        total_bytes,
        (pending.len() + compare.len()) as u64,
    );
    let repairs = compare_contents(plan, ctx, compare, &rechecked, &progress, options).await?;
    let uploads = uploads
        .into_iter()
        .map(|a| (a, a.action == ActionKind::Replace))
        .chain(repairs.into_iter().map(|a| (a, true)))
        .collect();
    Ok(Approved {
        plan,
        uploads,
        deletes,
        distro_ids,
        rechecked,
        progress,
    })
}

/// `plan --after`: the promotion's source still holds what the plan it follows
/// led to there.
async fn promotion_gate(
    ctx: &Context<'_>,
    after: &After,
    target: &TargetInventory,
) -> Result<(), ApplyError> {
    let Some(promotion) = ctx.sources.promotion() else {
        return Err(ApplyError::Stale(vec![
            "the plan follows a plan of a promotion's source, but the config promotes nothing"
                .into(),
        ]));
    };
    match promotion.gate(after, target).await {
        Ok(()) => Ok(()),
        Err(e @ PromotionError::NotApplied { .. }) => Err(ApplyError::Stale(vec![e.to_string()])),
        Err(e) => Err(SourceError::from(e).into()),
    }
}

/// The config must be the one the plan was made with.
fn config_unchanged(plan: &Plan, ctx: &Context<'_>) -> Result<(), ApplyError> {
    let effective = ctx.config.effective();
    if effective.digest() == plan.config_digest {
        return Ok(());
    }
    let mut differences = plan.config.differences(&effective);
    if differences.is_empty() {
        differences.push("(the digest differs)".into());
    }
    Err(ApplyError::ConfigChanged(differences))
}

/// Every action's precondition against what was observed; any stale one stops
/// the whole plan, and what is already done is journaled as such.
fn triage<'p>(
    plan: &'p Plan,
    ctx: &Context<'_>,
    target: &TargetInventory,
    rechecked: &Rechecked,
) -> Result<Triage<'p>, ApplyError> {
    let mut triage = Triage {
        pending: Vec::new(),
        compare: Vec::new(),
    };
    let mut done = Vec::new();
    let mut stale = Vec::new();
    for action in &plan.actions {
        match preconditions::check(action, target, rechecked) {
            Verdict::Pending => triage.pending.push(action),
            Verdict::Done(why) => done.push((action, why)),
            Verdict::CompareContent { stored_sha256 } => {
                triage.compare.push((action, stored_sha256))
            }
            Verdict::Stale(why) => stale.push(format!(
                "{} `{}`: {why}",
                action.action.as_str(),
                action.key()
            )),
        }
    }
    if !stale.is_empty() {
        return Err(ApplyError::Stale(stale));
    }
    for (action, why) in done {
        record(ctx, plan, action, Outcome::AlreadyDone, Some(why))?;
    }
    Ok(triage)
}

/// The Packagecloud distro id of every upload. The plan says which type it
/// planned; a type pkgsync does not upload is refused.
fn upload_distro_ids(
    uploads: &[&Action],
    resolved: &Resolved,
) -> Result<BTreeMap<ArtifactKey, u64>, ApplyError> {
    let mut ids = BTreeMap::new();
    for action in uploads {
        let package_type = match action.package_type.as_str() {
            "rpm" => PackageType::Rpm,
            "deb" => PackageType::Deb,
            other => {
                return Err(ApplyError::Stale(vec![format!(
                    "upload `{}`: pkgsync does not upload packages of type `{other}`",
                    action.key()
                )]));
            }
        };
        let id = resolved
            .index
            .resolve(&action.distro_version, package_type)
            .map_err(PackagecloudError::from)?;
        ids.insert(action.key(), id);
    }
    Ok(ids)
}

/// Uploads and replaces are judged against the config's own rules: a
/// configured source offers the file for the action's `distro/version`, and a
/// replace needs `sync.replace` and an unprotected name. A plan edited by hand
/// (its `plan_id` recomputed) cannot get past this.
fn admit_uploads(
    plan: &Plan,
    ctx: &Context<'_>,
    uploads: &[&Action],
    resolved: &Resolved,
) -> Vec<String> {
    let policy = resolved.policy(ctx.config, plan.guards.allow_deletes);
    let mut stale = Vec::new();
    for action in uploads {
        let key = action.key();
        let admitted = match &action.source {
            None => Err("the plan names no source".to_string()),
            Some(expect) => ctx.sources.admits(&expect.provenance, &key, &|name| {
                resolved.canonical(name).to_string()
            }),
        };
        let why = match admitted {
            Err(why) => why,
            Ok(())
                if action.action == ActionKind::Replace
                    && (!policy.replace || policy.is_protected(&key)) =>
            {
                "the config's rules do not allow this replace".to_string()
            }
            Ok(()) => continue,
        };
        stale.push(format!("{} `{key}`: {why}", action.action.as_str()));
    }
    stale
}

/// Deletes are judged again against the sources as they are now and against
/// the rules of the config (not the plan's copy of them): a file built again, a
/// `distro/version` whose build results became incomplete, or a delete the
/// config would not make (a hand-made plan) makes the plan stale. The guards
/// are the config's, with the plan's `--allow-deletes`.
async fn admit_deletes(
    plan: &Plan,
    ctx: &Context<'_>,
    deletes: &[&Action],
    target: &TargetInventory,
    resolved: &Resolved,
) -> Result<Vec<String>, ApplyError> {
    let source = observe::sources_now(ctx.sources, resolved).await?;
    let policy = resolved.policy(ctx.config, plan.guards.allow_deletes);
    let mut stale = Vec::new();
    for action in deletes {
        let key = action.key();
        let why = match orphan_rule(&key, &source, &policy) {
            Orphan::Delete => continue,
            Orphan::Withheld => format!(
                "the build results for `{}` are incomplete now: {}",
                key.distro_version,
                source.coverage[&key.distro_version]
                    .withholding(&key.filename)
                    .join("; ")
            ),
            Orphan::Keep => match source.artifacts.get(&key) {
                Some(offered) => format!("`{}` offers this file again", offered.provenance),
                None => "the config's rules do not allow this delete".to_string(),
            },
        };
        stale.push(format!("delete `{key}`: {why}"));
    }
    if !stale.is_empty() {
        return Ok(stale);
    }
    let keys: Vec<ArtifactKey> = deletes.iter().map(|a| a.key()).collect();
    let in_scope = policy.in_scope(target);
    let guards = Guards {
        max_deletes: policy.max_deletes,
        max_delete_percent: policy.max_delete_percent,
        allow_deletes: plan.guards.allow_deletes,
    };
    check_guards(&keys, in_scope, &guards).map_err(ApplyError::Guard)?;
    Ok(stale)
}

/// A file already on the target under a planned name is ours only if its
/// content is: download ours and compare, before anything changes. Equal is
/// done; a damaged copy an earlier run left (the journal says so) is to be
/// repaired, and returned; anything else is a conflict. On a rerun after a
/// crash these are most of the plan, so they run concurrently.
async fn compare_contents<'p>(
    plan: &Plan,
    ctx: &Context<'_>,
    compare: Vec<(&'p Action, Option<String>)>,
    rechecked: &Rechecked,
    progress: &Progress,
    options: &ApplyOptions,
) -> Result<Vec<&'p Action>, ApplyError> {
    let compared: Vec<_> = futures::stream::iter(compare)
        .map(|(action, stored_sha256)| async move {
            let file = fetch(ctx, action, rechecked, progress).await?;
            Ok::<_, ApplyError>((action, stored_sha256, file))
        })
        .buffer_unordered(options.downloads.max(1))
        .try_collect()
        .await?;
    let mut conflicts = Vec::new();
    let mut repairs = Vec::new();
    for (action, stored_sha256, file) in compared {
        if stored_sha256.as_deref() == Some(file.sha256.as_str()) {
            record(
                ctx,
                plan,
                action,
                Outcome::AlreadyDone,
                Some("already on Packagecloud".into()),
            )?;
            progress.action_done(&format!("already there: {}", action.key()));
        } else if is_own_damage(ctx, action, stored_sha256.as_deref()) {
            repairs.push(action);
        } else {
            conflicts.push(format!(
                "`{}`: sha256 {} there, {} from its source",
                action.key(),
                stored_sha256.as_deref().unwrap_or("unknown"),
                file.sha256
            ));
        }
    }
    if !conflicts.is_empty() {
        progress.finish();
        conflicts.sort();
        return Err(ApplyError::Conflict(conflicts));
    }
    Ok(repairs)
}

/// Whether the file stored under a planned name is a damaged copy an earlier
/// run of pkgsync uploaded (the journal says so), and so its own to replace.
fn is_own_damage(ctx: &Context<'_>, action: &Action, stored_sha256: Option<&str>) -> bool {
    stored_sha256.is_some_and(|sha256| {
        ctx.journal.is_own_damage(&StoredCopy {
            distro_version: action.distro_version.clone(),
            filename: action.filename.clone(),
            sha256: sha256.to_string(),
        })
    })
}
