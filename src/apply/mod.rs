//! Apply: executes exactly a reviewed plan, or nothing. Two phases, whose types
//! carry the rule "nothing changes before every precondition holds":
//!
//! - [`check`] only reads (and journals what is already done): the config is
//!   the one the plan was made with; both sides are observed again; every
//!   action's precondition holds (done, go ahead, or stale); the config's rules
//!   still admit each action; the deletion guards hold; a stored file under a
//!   planned name is compared by content. It returns an `Approved`, which no
//!   other code can build.
//! - [`execute`] takes that value: uploads as a pipeline (download → verify →
//!   upload, with separate bounds), deletes only once every upload succeeded.
//!   Every outcome goes into the journal; failures of single actions do not
//!   stop the others.

pub mod cache;
mod check;
mod execute;
pub mod journal;
pub mod preconditions;
pub mod progress;

use crate::config::Config;
use crate::http::HttpClient;
use crate::observe::ObserveError;
use crate::packagecloud::PackagecloudError;
use crate::plan::planner::PlanError;
use crate::plan::{Action, Plan};
use crate::source::{Rechecked, SourceError, Sources};
use crate::target::Target;
use cache::{Cache, CacheError, CachedFile};
use journal::{Journal, Outcome, Record};
use progress::Progress;

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
    #[error("the plan is stale: {} action(s) no longer match what the sources and Packagecloud hold:\n{}", .0.len(), .0.iter().map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n"))]
    Stale(Vec<String>),
    #[error(transparent)]
    Guard(PlanError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Observe(#[from] ObserveError),
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
}

/// The clients and places apply works with.
pub struct Context<'a> {
    pub config: &'a Config,
    pub sources: &'a Sources,
    pub target: &'a Target,
    /// Downloads go through it.
    pub http: &'a HttpClient,
    pub cache: &'a Cache,
    pub journal: &'a Journal,
}

/// Checks, then executes: the only way from a plan to a change.
pub async fn apply(
    plan: &Plan,
    ctx: &Context<'_>,
    options: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let approved = check::check(plan, ctx, options).await?;
    execute::execute(approved, ctx, options).await
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

/// A verified copy of an upload's file, from the download its source gave when
/// it was checked again.
async fn fetch(
    ctx: &Context<'_>,
    action: &Action,
    rechecked: &Rechecked,
    progress: &Progress,
) -> Result<CachedFile, ApplyError> {
    let expect = action
        .source
        .as_ref()
        .expect("the check phase passed only uploads with a source");
    let download = rechecked
        .download(&expect.provenance)
        .expect("the check phase passed only uploads with a download");
    Ok(ctx
        .cache
        .fetch(ctx.http, download, &|n| progress.bytes(n))
        .await?)
}
