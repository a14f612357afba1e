//! Apply's second phase: runs what the first approved. Uploads first, as a
//! pipeline; deletes only once every upload succeeded.

use super::cache::CachedFile;
use super::check::Approved;
use super::journal::{self, Outcome, Record, StoredCopy};
use super::progress::Progress;
use super::{ApplyError, ApplyOptions, ApplyReport, Context, fetch, record, write_record};
use crate::model::{ArtifactKey, PromoteMethod, Provenance};
use crate::packagecloud::{DeleteOutcome, PackagecloudError, UploadOutcome};
use crate::plan::{Action, ActionKind, Plan};
use crate::promotion::PromotionSource;
use futures::StreamExt;
use tokio::sync::Semaphore;

pub async fn execute(
    approved: Approved<'_>,
    ctx: &Context<'_>,
    options: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let plan = approved.plan();
    run_uploads(&approved, ctx, options).await?;
    let upload_failed = ctx
        .journal
        .records()
        .iter()
        .any(|r| r.outcome == Outcome::Failed);
    if upload_failed {
        for action in approved.deletes() {
            record(
                ctx,
                plan,
                action,
                Outcome::NotRun,
                Some("an upload failed".into()),
            )?;
        }
    } else {
        run_deletes(&approved, ctx, options).await?;
    }
    approved.progress().finish();

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
    Ok(ApplyReport { summary })
}

/// Each upload downloads under one bound and uploads under another, so a file
/// goes up as soon as it is down and verified. Every action is in flight at
/// once (waiting on the bounds), so a download never waits for an unrelated
/// upload; what is downloaded ahead waits on disk, in the cache.
async fn run_uploads(
    approved: &Approved<'_>,
    ctx: &Context<'_>,
    options: &ApplyOptions,
) -> Result<(), ApplyError> {
    let slots = Slots {
        downloads: Semaphore::new(options.downloads.max(1)),
        uploads: Semaphore::new(options.uploads.max(1)),
    };
    let uploads = approved.uploads();
    let results: Vec<Result<(), ApplyError>> = futures::stream::iter(uploads)
        .map(|&(action, delete_first)| {
            let slots = &slots;
            async move {
                let outcome = upload_one(ctx, approved, slots, action, delete_first).await;
                let (outcome, detail) = match outcome {
                    Ok(outcome) => (outcome, None),
                    Err(e) => (Outcome::Failed, Some(crate::display::chain(&e))),
                };
                done(approved.progress(), outcome, action);
                record(ctx, approved.plan(), action, outcome, detail)
            }
        })
        .buffer_unordered(uploads.len().max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

async fn run_deletes(
    approved: &Approved<'_>,
    ctx: &Context<'_>,
    options: &ApplyOptions,
) -> Result<(), ApplyError> {
    let results: Vec<Result<(), ApplyError>> = futures::stream::iter(approved.deletes())
        .map(|&action| async move {
            let (outcome, detail) = match ctx.target.delete(&action.key()).await {
                Ok(DeleteOutcome::Deleted) => (Outcome::Deleted, None),
                Ok(DeleteOutcome::AlreadyGone) => {
                    (Outcome::AlreadyDone, Some("already gone".into()))
                }
                Err(e) => (Outcome::Failed, Some(crate::display::chain(&e))),
            };
            done(approved.progress(), outcome, action);
            record(ctx, approved.plan(), action, outcome, detail)
        })
        .buffer_unordered(options.uploads.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

fn done(progress: &Progress, outcome: Outcome, action: &Action) {
    let word = match outcome {
        Outcome::Uploaded => "uploaded",
        Outcome::Replaced => "replaced",
        Outcome::Deleted => "deleted",
        Outcome::AlreadyDone => "already done",
        Outcome::Failed => "FAILED",
        Outcome::NotRun => "not run",
        Outcome::Damaged => "damaged",
    };
    progress.action_done(&format!("{word}: {}", action.key()));
}

/// The bounds downloads and uploads run under.
struct Slots {
    downloads: Semaphore,
    uploads: Semaphore,
}

#[derive(Debug, thiserror::Error)]
enum UploadError {
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Packagecloud(#[from] PackagecloudError),
    #[error("the downloaded file is not the package the plan names: {0}")]
    WrongPackage(String),
    #[error("not moved: {0}")]
    NotMoved(String),
}

async fn upload_one(
    ctx: &Context<'_>,
    approved: &Approved<'_>,
    slots: &Slots,
    action: &Action,
    delete_first: bool,
) -> Result<Outcome, UploadError> {
    if let Some((promotion, provenance)) = moved_by(ctx, action) {
        let download = approved
            .rechecked()
            .download(provenance)
            .expect("the check phase passed only uploads with a download");
        let _slot = slots.uploads.acquire().await.expect("semaphore stays open");
        let key = action.key();
        if delete_first {
            // Nothing checks a promote call before it is made: make sure the
            // file is still there to move before the target's copy goes.
            let sha256 = download.sha256().unwrap_or_default();
            if !promotion.still_holds(&key, sha256).await? {
                return Err(UploadError::NotMoved(format!(
                    "`{}` no longer holds it with sha256 {sha256}; the stored copy was kept",
                    promotion.repo()
                )));
            }
            ctx.target.delete(&key).await?;
        }
        let outcome = promotion
            .promote(download, &key, ctx.target.as_packagecloud())
            .await?;
        return Ok(outcome_of(action, outcome, delete_first));
    }
    let file = {
        let _slot = slots
            .downloads
            .acquire()
            .await
            .expect("semaphore stays open");
        fetch(ctx, action, approved.rechecked(), approved.progress()).await?
    };
    // Packagecloud stores a file under the name its metadata gives; make sure that
    // is the planned name before anything changes, a replace's delete included
    // (the client checks again before it posts, as part of its own contract).
    let identity =
        pkgfile::read_identity(&file.path).map_err(|e| UploadError::WrongPackage(e.to_string()))?;
    if identity.canonical_filename() != action.filename {
        return Err(UploadError::WrongPackage(format!(
            "its metadata names it `{}`",
            identity.canonical_filename()
        )));
    }
    let _slot = slots.uploads.acquire().await.expect("semaphore stays open");
    let key = action.key();
    if delete_first {
        ctx.target.delete(&key).await?;
    }
    let distro_id = approved.distro_id(&key);
    let outcome = upload_verified(ctx, approved.plan(), action, &file, distro_id).await?;
    Ok(outcome_of(action, outcome, delete_first))
}

fn outcome_of(action: &Action, outcome: UploadOutcome, delete_first: bool) -> Outcome {
    match (action.action, outcome) {
        (_, UploadOutcome::AlreadyPresent) => Outcome::AlreadyDone,
        (ActionKind::Replace, UploadOutcome::Created) => Outcome::Replaced,
        (_, UploadOutcome::Created) if delete_first => Outcome::Replaced,
        (_, UploadOutcome::Created) => Outcome::Uploaded,
    }
}

/// The promotion source and the file, when the action's file is moved by
/// Packagecloud's promote call rather than downloaded and uploaded
/// (`promote.method: move`).
fn moved_by<'c, 'a>(
    ctx: &Context<'c>,
    action: &'a Action,
) -> Option<(&'c PromotionSource, &'a Provenance)> {
    let provenance = &action.source.as_ref()?.provenance;
    match provenance {
        Provenance::Promotion(file) if file.method == PromoteMethod::Move => {
            let promotion = ctx.sources.promotion();
            Some((promotion.expect("the check phase admitted it"), provenance))
        }
        _ => None,
    }
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
            .target
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
        ctx.target
            .delete(&ArtifactKey::new(&stored.distro_version, &stored.filename))
            .await?;
        if attempt >= ctx.target.retry_policy().max_attempts {
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
