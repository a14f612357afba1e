//! Apply: executes exactly a reviewed plan, or nothing.
//!
//! Before any change: the config must be the one the plan was made with, both
//! sides are observed again, every action's precondition is checked (done, go
//! ahead, or stale), distro ids are resolved and the deletion guards re-checked.
//! Then uploads run as a pipeline (download → verify → upload, with separate
//! bounds), and deletes only once every upload succeeded. Every outcome goes into
//! the journal; failures of single actions do not stop the others.

pub mod cache;
pub mod journal;
pub mod preconditions;
pub mod progress;

use crate::config::{Config, ObsProject};
use crate::model::{ArtifactKey, PackageType, TargetInventory};
use crate::obs::client::{ObsClient, ObsError};
use crate::packagecloud::{DeleteOutcome, PackagecloudClient, PackagecloudError, UploadOutcome};
use crate::plan::planner::{Orphan, PlanError, check_guards, is_protected, orphan_rule};
use crate::plan::{Action, ActionKind, Plan};
use cache::{Cache, CacheError, CachedFile};
use futures::{StreamExt, TryStreamExt};
use journal::{Journal, Outcome, Record, StoredCopy};
use preconditions::{SourceObservation, Verdict};
use progress::Progress;
use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub downloads: usize,
    pub uploads: usize,
    pub progress: progress::ProgressMode,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the config differs from the one this plan was made with:\n{}", .0.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    ConfigChanged(Vec<String>),
    #[error("Packagecloud holds other content under {} name(s) the plan uploads; nothing was changed:\n{}", .0.len(), .0.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    Conflict(Vec<String>),
    #[error("the plan is stale: {} action(s) no longer match what OBS and Packagecloud hold:\n{}", .0.len(), .0.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    Stale(Vec<String>),
    #[error(transparent)]
    Guard(PlanError),
    #[error(transparent)]
    Obs(#[from] ObsError),
    #[error(transparent)]
    Source(#[from] crate::obs::SourceError),
    #[error(transparent)]
    Packagecloud(#[from] PackagecloudError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{0}")]
    Partial(String),
    #[error("cannot write the journal `{path}`")]
    Journal {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What a successful (or partial) apply reports.
#[derive(Debug)]
pub struct ApplyReport {
    pub summary: String,
    pub records: Vec<Record>,
}

/// The clients and places apply works with.
pub struct Context<'a> {
    pub config: &'a Config,
    pub obs: &'a ObsClient,
    pub packagecloud: &'a PackagecloudClient,
    pub cache: &'a Cache,
    pub journal: &'a Journal,
}

pub async fn apply(
    plan: &Plan,
    ctx: &Context<'_>,
    options: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let effective = ctx.config.effective();
    if effective.digest() != plan.config_digest {
        let mut differences = plan.config.differences(&effective);
        if differences.is_empty() {
            differences.push("(the digest differs)".into());
        }
        return Err(ApplyError::ConfigChanged(differences));
    }

    // Observe both sides again: the whole target, and the source packages the
    // plan uploads from (one binary list per package).
    let target = ctx.packagecloud.list().await?;
    let source = observe_sources(plan, ctx).await?;

    let mut pending = Vec::new();
    let mut done = Vec::new();
    let mut compare = Vec::new();
    let mut stale = Vec::new();
    for action in &plan.actions {
        match preconditions::check(action, &target, &source) {
            Verdict::Pending => pending.push(action),
            Verdict::Done(why) => done.push((action, why)),
            Verdict::CompareContent { stored_sha256 } => compare.push((action, stored_sha256)),
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

    let needs_upload: Vec<&Action> = pending
        .iter()
        .chain(compare.iter().map(|(a, _)| a))
        .copied()
        .filter(|a| a.action != ActionKind::Delete)
        .collect();
    let deletes: Vec<&Action> = pending
        .iter()
        .copied()
        .filter(|a| a.action == ActionKind::Delete)
        .collect();
    let mut distro_ids = BTreeMap::new();
    if !needs_upload.is_empty() || !deletes.is_empty() {
        let index = ctx.packagecloud.distributions().await?;
        for action in &needs_upload {
            // The plan says which type it planned; a name it cannot read is refused.
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
            let id = index
                .resolve(&action.distro_version, package_type)
                .map_err(PackagecloudError::from)?;
            distro_ids.insert(action.key(), id);
        }
        let config = index
            .canonical_config(ctx.config)
            .map_err(PackagecloudError::from)?;
        let mut stale = recheck_uploads(plan, &needs_upload, &config)?;
        if stale.is_empty() && !deletes.is_empty() {
            stale = recheck_deletes(plan, &deletes, &config, &target, ctx).await?;
        }
        if !stale.is_empty() {
            return Err(ApplyError::Stale(stale));
        }
    }

    let progress = Progress::new(
        options.progress,
        needs_upload
            .iter()
            .filter_map(|a| a.source.as_ref())
            .map(|s| s.size)
            .sum(),
        (pending.len() + compare.len()) as u64,
    );

    // A file already on the target under a planned name is ours only if its
    // content is: download ours and compare, before anything changes. On a rerun
    // after a crash these are most of the plan, so they run concurrently.
    let compared: Vec<(&Action, Option<String>, CachedFile)> = futures::stream::iter(compare)
        .map(|(action, stored_sha256)| {
            let progress = &progress;
            let source = &source;
            async move {
                let file = fetch(ctx, action, source, progress).await?;
                Ok::<_, ApplyError>((action, stored_sha256, file))
            }
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
                "`{}`: sha256 {} there, {} from OBS",
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

    // Uploads: each one downloads under one bound and uploads under another, so a
    // file goes up as soon as it is down and verified. Every action is in flight
    // at once (waiting on the bounds), so a download never waits for an unrelated
    // upload; what is downloaded ahead waits on disk, in the cache. A replace, and
    // the repair of a copy an earlier run left damaged, delete the stored file first.
    let uploads: Vec<(&Action, bool)> = pending
        .iter()
        .copied()
        .filter(|a| a.action != ActionKind::Delete)
        .map(|a| (a, a.action == ActionKind::Replace))
        .chain(repairs.into_iter().map(|a| (a, true)))
        .collect();
    let run = UploadRun {
        download_slots: Semaphore::new(options.downloads.max(1)),
        upload_slots: Semaphore::new(options.uploads.max(1)),
        distro_ids: &distro_ids,
        source: &source,
    };
    let in_flight = uploads.len().max(1);
    let results: Vec<Result<(), ApplyError>> = futures::stream::iter(uploads)
        .map(|(action, delete_first)| {
            let run = &run;
            let progress = &progress;
            async move {
                let outcome = upload_one(ctx, plan, run, action, delete_first, progress).await;
                let (outcome, detail) = match outcome {
                    Ok(outcome) => (outcome, None),
                    Err(e) => (Outcome::Failed, Some(crate::exit::chain(&e))),
                };
                progress.action_done(&format!("{}: {}", outcome_word(outcome), action.key()));
                record(ctx, plan, action, outcome, detail)
            }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;

    let upload_failed = ctx
        .journal
        .records()
        .iter()
        .any(|r| r.outcome == Outcome::Failed);
    if upload_failed {
        for action in deletes {
            record(
                ctx,
                plan,
                action,
                Outcome::NotRun,
                Some("an upload failed".into()),
            )?;
        }
    } else {
        let results: Vec<Result<(), ApplyError>> = futures::stream::iter(deletes)
            .map(|action| {
                let progress = &progress;
                async move {
                    let (outcome, detail) = match ctx.packagecloud.delete(&action.key()).await {
                        Ok(DeleteOutcome::Deleted) => (Outcome::Deleted, None),
                        Ok(DeleteOutcome::AlreadyGone) => {
                            (Outcome::AlreadyDone, Some("already gone".into()))
                        }
                        Err(e) => (Outcome::Failed, Some(crate::exit::chain(&e))),
                    };
                    progress.action_done(&format!("{}: {}", outcome_word(outcome), action.key()));
                    record(ctx, plan, action, outcome, detail)
                }
            })
            .buffer_unordered(options.uploads.max(1))
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
    }
    progress.finish();

    let records: Vec<Record> = ctx
        .journal
        .records()
        .into_iter()
        .filter(|r| r.plan_id == plan.plan_id)
        .collect();
    let (summary, complete) = journal::summarise(&records);
    if !complete {
        return Err(ApplyError::Partial(summary));
    }
    Ok(ApplyReport { summary, records })
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Uploaded => "uploaded",
        Outcome::Replaced => "replaced",
        Outcome::Deleted => "deleted",
        Outcome::AlreadyDone => "already done",
        Outcome::Failed => "FAILED",
        Outcome::NotRun => "not run",
        Outcome::Damaged => "damaged",
    }
}

fn record(
    ctx: &Context<'_>,
    plan: &Plan,
    action: &Action,
    outcome: Outcome,
    detail: Option<String>,
) -> Result<(), ApplyError> {
    write_record(ctx, Record::new(&plan.plan_id, action, outcome, detail))
}

fn write_record(ctx: &Context<'_>, record: Record) -> Result<(), ApplyError> {
    ctx.journal
        .record(record)
        .map_err(|source| ApplyError::Journal {
            path: ctx.journal.path().display().to_string(),
            source,
        })
}

/// Uploads and replaces are judged against the config's own rules: the origin is
/// a configured project whose repository maps to the action's `distro/version`,
/// and a replace needs `sync.replace` and an unprotected name. A plan edited by
/// hand (its `plan_id` recomputed) cannot get past this.
fn recheck_uploads(
    plan: &Plan,
    uploads: &[&Action],
    config: &Config,
) -> Result<Vec<String>, ApplyError> {
    let policy = config.policy(plan.guards.allow_deletes);
    let protect = policy
        .protect_set()
        .map_err(|e| ApplyError::Guard(PlanError::Pattern(e)))?;
    let mut stale = Vec::new();
    for action in uploads {
        let key = action.key();
        let Some(source) = &action.source else {
            stale.push(format!(
                "{} `{key}`: the plan names no source",
                action.action.as_str()
            ));
            continue;
        };
        let configured = config.obs.projects.iter().any(|p| p.name == source.project);
        let mapped = config
            .distro_mapping
            .get(&source.repository)
            .and_then(Option::as_ref)
            == Some(&key.distro_version);
        let why = if !configured {
            format!("`{}` is not a configured OBS project", source.project)
        } else if !mapped {
            format!(
                "the config does not map `{}` to `{}`",
                source.repository, key.distro_version
            )
        } else if action.action == ActionKind::Replace
            && (!policy.replace || is_protected(&key, &protect))
        {
            "the config's rules do not allow this replace".to_string()
        } else {
            continue;
        };
        stale.push(format!("{} `{key}`: {why}", action.action.as_str()));
    }
    Ok(stale)
}

/// Deletes are judged again against OBS as it is now and against the rules of
/// the config (not the plan's copy of them): a file built again, a distro/version
/// whose build results became incomplete, or a delete the config would not make
/// (a hand-made plan) makes the plan stale. The guards are the config's, with the
/// plan's `--allow-deletes`.
async fn recheck_deletes(
    plan: &Plan,
    deletes: &[&Action],
    config: &Config,
    target: &TargetInventory,
    ctx: &Context<'_>,
) -> Result<Vec<String>, ApplyError> {
    let source = crate::obs::observe(ctx.obs, config).await?;
    let policy = config.policy(plan.guards.allow_deletes);
    let protect = policy
        .protect_set()
        .map_err(|e| ApplyError::Guard(PlanError::Pattern(e)))?;
    let mut stale = Vec::new();
    for action in deletes {
        let key = action.key();
        let why = match orphan_rule(&key, &source, &policy, &protect) {
            Orphan::Delete => continue,
            Orphan::Withheld => format!(
                "OBS's build results for `{}` are incomplete now: {}",
                key.distro_version,
                source.coverage[&key.distro_version].incomplete.join("; ")
            ),
            Orphan::Keep if source.artifacts.contains_key(&key) => {
                "OBS builds this file again".to_string()
            }
            Orphan::Keep => "the config's rules do not allow this delete".to_string(),
        };
        stale.push(format!("delete `{key}`: {why}"));
    }
    if !stale.is_empty() {
        return Ok(stale);
    }
    let keys: Vec<ArtifactKey> = deletes.iter().map(|a| a.key()).collect();
    let guards = crate::plan::Guards {
        max_deletes: policy.max_deletes,
        max_delete_percent: policy.max_delete_percent,
        allow_deletes: plan.guards.allow_deletes,
    };
    check_guards(&keys, in_scope_count(target, &policy.scope), &guards)
        .map_err(ApplyError::Guard)?;
    Ok(stale)
}

fn in_scope_count(target: &TargetInventory, scope: &BTreeSet<String>) -> usize {
    target
        .packages
        .keys()
        .filter(|k| scope.contains(&k.distro_version))
        .count()
}

fn project<'a>(config: &'a Config, name: &str) -> &'a ObsProject {
    config
        .obs
        .projects
        .iter()
        .find(|p| p.name == name)
        .expect("the config digest matched, so the plan's projects are configured")
}

/// The current binaries of every origin the plan uploads from.
async fn observe_sources(plan: &Plan, ctx: &Context<'_>) -> Result<SourceObservation, ApplyError> {
    let origins: Vec<crate::model::ObsOrigin> = plan
        .actions
        .iter()
        .filter_map(|a| a.source.as_ref())
        .map(|s| s.origin())
        .collect();
    Ok(crate::obs::current_binaries(ctx.obs, ctx.config, &origins).await?)
}

async fn fetch(
    ctx: &Context<'_>,
    action: &Action,
    source: &SourceObservation,
    progress: &Progress,
) -> Result<CachedFile, ApplyError> {
    let expect = preconditions::download_expectation(action, source);
    let (url, auth) = ctx
        .obs
        .download_request(project(ctx.config, &expect.project), &expect.origin());
    let file = ctx
        .cache
        .fetch(ctx.obs.http(), &url, &auth, &expect, &|n| progress.bytes(n))
        .await?;
    Ok(file)
}

#[derive(Debug, thiserror::Error)]
enum UploadError {
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Packagecloud(#[from] PackagecloudError),
    #[error("the downloaded file is not the package the plan names: {0}")]
    WrongPackage(String),
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

/// What the uploads of one run share: the bounds downloads and uploads run
/// under, the distro ids, and the source as observed at the start of the run.
struct UploadRun<'a> {
    download_slots: Semaphore,
    upload_slots: Semaphore,
    distro_ids: &'a BTreeMap<ArtifactKey, u64>,
    source: &'a SourceObservation,
}

async fn upload_one(
    ctx: &Context<'_>,
    plan: &Plan,
    run: &UploadRun<'_>,
    action: &Action,
    delete_first: bool,
    progress: &Progress,
) -> Result<Outcome, UploadError> {
    let file = {
        let _slot = run
            .download_slots
            .acquire()
            .await
            .expect("semaphore stays open");
        fetch(ctx, action, run.source, progress).await?
    };
    // Packagecloud stores a file under the name its metadata gives; make sure that
    // is the planned name before anything changes, a replace's delete included
    // (the client checks again before it posts, as part of its own contract).
    let identity = crate::pkgmeta::read_identity(&file.path)
        .map_err(|e| UploadError::WrongPackage(e.to_string()))?;
    if identity.canonical_filename() != action.filename {
        return Err(UploadError::WrongPackage(format!(
            "its metadata names it `{}`",
            identity.canonical_filename()
        )));
    }
    let _slot = run
        .upload_slots
        .acquire()
        .await
        .expect("semaphore stays open");
    let key = action.key();
    if delete_first {
        ctx.packagecloud.delete(&key).await?;
    }
    let outcome = upload_verified(ctx, plan, action, &file, run.distro_ids[&key]).await?;
    Ok(match (action.action, outcome) {
        (_, UploadOutcome::AlreadyPresent) => Outcome::AlreadyDone,
        (ActionKind::Replace, UploadOutcome::Created) => Outcome::Replaced,
        (_, UploadOutcome::Created) if delete_first => Outcome::Replaced,
        (_, UploadOutcome::Created) => Outcome::Uploaded,
    })
}

/// Uploads the file; a copy Packagecloud stored other than it was sent (bytes
/// damaged on the way) is pkgsync's own damage: recorded in the journal first (so
/// a crash cannot orphan it), deleted, and uploaded again, as often as the retry
/// policy allows.
async fn upload_verified(
    ctx: &Context<'_>,
    plan: &Plan,
    action: &Action,
    file: &CachedFile,
    distro_id: u64,
) -> Result<UploadOutcome, UploadError> {
    let key = action.key();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match ctx
            .packagecloud
            .upload(&file.path, distro_id, &key, &file.sha256)
            .await
        {
            Ok(outcome) => return Ok(outcome),
            Err(error) => error,
        };
        let Some(stored) = damaged_copy(&error) else {
            return Err(error.into());
        };
        let mut damaged = Record::new(
            &plan.plan_id,
            action,
            Outcome::Damaged,
            Some(format!("{error}; deleting it")),
        );
        damaged.stored = Some(stored.clone());
        write_record(ctx, damaged)?;
        ctx.packagecloud
            .delete(&ArtifactKey::new(&stored.distro_version, &stored.filename))
            .await?;
        if attempt >= ctx.packagecloud.retry_policy().max_attempts {
            return Err(error.into());
        }
    }
}

/// The copy a 201 described, when it is not what was sent.
fn damaged_copy(error: &PackagecloudError) -> Option<StoredCopy> {
    match error {
        PackagecloudError::VerifyFailed {
            key,
            stored_filename,
            stored_sha256,
            ..
        } if !stored_filename.is_empty() && !stored_sha256.is_empty() => Some(StoredCopy {
            distro_version: key.distro_version.clone(),
            filename: stored_filename.clone(),
            sha256: stored_sha256.clone(),
        }),
        _ => None,
    }
}
