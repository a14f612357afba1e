//! Exit codes and the failure type commands return. One table, documented in the
//! README; `main` prints the error chain and maps it to the code.

use crate::obs::SourceError;
use crate::obs::client::ObsError;
use crate::packagecloud::PackagecloudError;
use crate::plan::PlanError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success, or no changes.
    Success = 0,
    /// Any error.
    Error = 1,
    /// `plan --detailed-exitcode` found changes.
    Changes = 2,
    /// A deletion guard stopped the plan or the apply.
    GuardTripped = 3,
    /// Apply refused the plan: stale, or made with another config.
    Refused = 4,
    /// Apply ran, but some actions failed; rerun to finish.
    PartialApply = 5,
    /// A source and Packagecloud hold different content under one name.
    Conflict = 6,
}

impl Exit {
    /// `diff`: the plans differ (like diff(1)).
    #[allow(non_upper_case_globals)]
    pub const PlansDiffer: Exit = Exit::Error;

    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error with its exit code and an optional hint for the user.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub error: anyhow::Error,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        let error = error.into();
        let hint = hint_for(&error);
        Self { exit, error, hint }
    }

    pub fn error(error: impl Into<anyhow::Error>) -> Self {
        Self::new(Exit::Error, error)
    }

    pub fn plan(error: PlanError) -> Self {
        let exit = match &error {
            PlanError::GuardTripped { .. } => Exit::GuardTripped,
            PlanError::Conflicts(_) => Exit::Conflict,
        };
        Self::new(exit, error)
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `error: ...`, `caused by: ...` lines, then `hint: ...`.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}", self.error);
        for cause in self.error.chain().skip(1) {
            out.push_str(&format!("\n  caused by: {cause}"));
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("\nhint: {hint}"));
        }
        out
    }
}

const DISTRO_HINT: &str =
    "fix `distro-mapping` in the config; values are `distro/version` as Packagecloud names them";

fn hint_for(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(layered_hint)
}

/// The hint of `cause` or of an error it wraps transparently.
fn layered_hint(cause: &Cause) -> Option<String> {
    let mut layer = Some(cause);
    std::iter::from_fn(|| {
        let this = layer?;
        layer = hidden(this);
        Some(this)
    })
    .find_map(hint_of)
}

/// The error type every layer of an error chain is.
type Cause = dyn std::error::Error + 'static;

/// The error a transparent wrapper holds: its `Display` and `source()` are
/// the inner error's, so `chain()` never yields the inner error itself.
fn hidden(cause: &Cause) -> Option<&Cause> {
    use crate::apply::ApplyError;
    use crate::observe::ObserveError;
    if let Some(e) = cause.downcast_ref::<ApplyError>() {
        return match e {
            ApplyError::Source(e) => Some(e),
            ApplyError::Observe(e) => Some(e),
            ApplyError::Packagecloud(e) => Some(e),
            ApplyError::Guard(e) => Some(e),
            _ => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<ObserveError>() {
        return match e {
            ObserveError::Source(e) => Some(e),
            ObserveError::Packagecloud(e) => Some(e),
            ObserveError::Unfit(_) => None,
        };
    }
    if let Some(crate::source::SourceError::Obs(e)) = cause.downcast_ref() {
        return Some(e);
    }
    match cause.downcast_ref::<SourceError>()? {
        SourceError::Obs(e) => Some(e),
        _ => None,
    }
}

/// The hint for one error, if it has one.
fn hint_of(cause: &Cause) -> Option<String> {
    if let Some(e) = cause.downcast_ref::<ObsError>() {
        return e.hint().map(str::to_string);
    }
    // Several sources failed: the first hint among them.
    if let Some(crate::source::SourceError::Several(all)) = cause.downcast_ref() {
        return all.iter().find_map(|e| layered_hint(e));
    }
    if cause
        .downcast_ref::<crate::packagecloud::DistroError>()
        .is_some()
    {
        return Some(DISTRO_HINT.into());
    }
    if let Some(e) = cause.downcast_ref::<PackagecloudError>() {
        match e {
            PackagecloudError::Unauthorized { .. } => {
                return Some("check that the token is current for this Packagecloud URL; it is never printed".into());
            }
            PackagecloudError::Distro(_) => return Some(DISTRO_HINT.into()),
            _ => {}
        }
    }
    if let Some(PlanError::GuardTripped { deletes, .. }) = cause.downcast_ref::<PlanError>() {
        let shown: Vec<String> = deletes
            .iter()
            .take(50)
            .map(|k| format!("  - {k}"))
            .collect();
        let more = deletes.len().saturating_sub(50);
        return Some(format!(
            "these would be deleted:\n{}{}\nif that is intended, plan again with `--allow-deletes {}`",
            shown.join("\n"),
            if more > 0 {
                format!("\n  ... and {more} more")
            } else {
                String::new()
            },
            deletes.len()
        ));
    }
    None
}
