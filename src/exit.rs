//! Exit codes and the failure type commands return. One table, documented in the
//! README, and one decision: each error type says its exit code and hint here
//! ([`Decides`]), so commands never map an error to a code themselves; `main`
//! prints the error chain and exits with the code.

use crate::apply::ApplyError;
use crate::obs::client::ObsError;
use crate::observe::ObserveError;
use crate::packagecloud::{DistroError, PackagecloudError};
use crate::plan::PlanError;
use crate::plan::file::PlanFileError;
use crate::promotion::PromotionError;

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
    /// The exit code and hint the error decides (exit 1 when none of its
    /// layers decides one).
    pub fn error(error: impl Into<anyhow::Error>) -> Self {
        let error = error.into();
        let exit = layers(&error)
            .find_map(|layer| decider(layer)?.exit_code())
            .unwrap_or(Exit::Error);
        let hint = layers(&error).find_map(|layer| decider(layer)?.hint());
        Self { exit, error, hint }
    }

    /// A failure whose code no error type decides (a command's own outcome).
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        Self {
            exit,
            ..Self::error(error)
        }
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

/// The error type every layer of an error chain is.
type Cause = dyn std::error::Error + 'static;

/// What an error says about how pkgsync ends. Implemented here, beside the
/// table, so that the lower modules need not know the exit codes.
trait Decides {
    /// The exit code, if this error decides it (the outermost one that does wins).
    fn exit_code(&self) -> Option<Exit> {
        None
    }
    /// What to do next, if this error knows.
    fn hint(&self) -> Option<String> {
        None
    }
    /// The error a transparent wrapper holds: its `Display` and `source()` are
    /// the inner error's, so `chain()` never yields the inner error itself.
    fn inner(&self) -> Option<&Cause> {
        None
    }
}

/// The one list of the error types that decide something.
fn decider(cause: &Cause) -> Option<&dyn Decides> {
    macro_rules! first_of {
        ($($ty:ty),*) => {
            $(if let Some(e) = cause.downcast_ref::<$ty>() {
                return Some(e);
            })*
        };
    }
    first_of!(
        ApplyError,
        ObserveError,
        crate::source::SourceError,
        crate::obs::SourceError,
        ObsError,
        PackagecloudError,
        DistroError,
        PlanError,
        PlanFileError,
        PromotionError
    );
    None
}

/// Every error of the chain, outermost first, each followed by the errors it
/// wraps transparently.
fn layers(error: &anyhow::Error) -> impl Iterator<Item = &Cause> {
    error.chain().flat_map(within)
}

/// `cause`, then the errors it wraps transparently.
fn within(cause: &Cause) -> impl Iterator<Item = &Cause> {
    let mut layer = Some(cause);
    std::iter::from_fn(move || {
        let this = layer?;
        layer = decider(this).and_then(Decides::inner);
        Some(this)
    })
}

const DISTRO_HINT: &str =
    "fix `distro-mapping` in the config; values are `distro/version` as Packagecloud names them";

const REPLAN: &str = "run `pkgsync plan` again, review the new plan, and apply that one";

impl Decides for ApplyError {
    fn exit_code(&self) -> Option<Exit> {
        Some(match self {
            ApplyError::Stale(_) | ApplyError::ConfigChanged(_) => Exit::Refused,
            ApplyError::Conflict(_) => Exit::Conflict,
            ApplyError::Guard(_) => Exit::GuardTripped,
            ApplyError::Partial(_) => Exit::PartialApply,
            _ => Exit::Error,
        })
    }
    fn hint(&self) -> Option<String> {
        match self {
            ApplyError::Stale(_) => Some(format!(
                "the sources or Packagecloud moved on since the plan was made (above: what changed); {REPLAN}"
            )),
            ApplyError::ConfigChanged(_) => Some(format!(
                "the plan records the digest of the config it was made with, and this config's differs (above: which settings); apply with that config, or {REPLAN}"
            )),
            ApplyError::Conflict(conflicts) => {
                // Each line starts with the name in backticks.
                let first = conflicts.first().and_then(|c| c.split('`').nth(1));
                let who = match (first, conflicts.len()) {
                    (Some(name), 1) => format!("`{name}`"),
                    (Some(name), n) => format!("`{name}` (and the {} others above)", n - 1),
                    (None, _) => "the names above".into(),
                };
                Some(format!(
                    "Packagecloud got other bytes under a planned name after the plan was made, or the source rebuilt it: check who uploaded {who}, then {REPLAN}; to overwrite, set `sync.replace: true`"
                ))
            }
            _ => None,
        }
    }
    fn inner(&self) -> Option<&Cause> {
        match self {
            ApplyError::Source(e) => Some(e),
            ApplyError::Observe(e) => Some(e),
            ApplyError::Packagecloud(e) => Some(e),
            ApplyError::Guard(e) => Some(e),
            _ => None,
        }
    }
}

impl Decides for ObserveError {
    fn inner(&self) -> Option<&Cause> {
        match self {
            ObserveError::Source(e) => Some(e),
            ObserveError::Packagecloud(e) => Some(e),
            ObserveError::Unfit(_) => None,
        }
    }
}

impl Decides for crate::source::SourceError {
    fn hint(&self) -> Option<String> {
        // Several sources failed: the first hint among them.
        let Self::Several(all) = self else {
            return None;
        };
        all.iter()
            .find_map(|e| within(e).find_map(|layer| decider(layer)?.hint()))
    }
    fn inner(&self) -> Option<&Cause> {
        match self {
            Self::Obs(e) => Some(e),
            _ => None,
        }
    }
}

impl Decides for crate::obs::SourceError {
    fn inner(&self) -> Option<&Cause> {
        match self {
            Self::Obs(e) => Some(e),
            _ => None,
        }
    }
}

impl Decides for ObsError {
    fn hint(&self) -> Option<String> {
        ObsError::hint(self).map(str::to_string)
    }
}

impl Decides for PackagecloudError {
    fn hint(&self) -> Option<String> {
        match self {
            PackagecloudError::Unauthorized { .. } => Some(
                "check that the token is current for this Packagecloud URL; it is never printed"
                    .into(),
            ),
            PackagecloudError::Distro(_) => Some(DISTRO_HINT.into()),
            _ => None,
        }
    }
}

impl Decides for DistroError {
    fn hint(&self) -> Option<String> {
        Some(DISTRO_HINT.into())
    }
}

impl Decides for PlanError {
    fn exit_code(&self) -> Option<Exit> {
        Some(match self {
            PlanError::GuardTripped { .. } | PlanError::Downgrade(_) => Exit::GuardTripped,
            PlanError::Conflicts(_) => Exit::Conflict,
        })
    }
    fn hint(&self) -> Option<String> {
        match self {
            PlanError::GuardTripped { deletes, .. } => Some(guard_hint(deletes)),
            PlanError::Downgrade(_) => Some(
                "the source offers older versions than Packagecloud holds (an old snapshot or a mirror that went back?): check the source, then plan again; if the downgrade is intended, set `sync.allow_downgrade: true`".into(),
            ),
            PlanError::Conflicts(_) => Some(
                "Packagecloud holds other bytes under these names than the source: check who uploaded them, or whether the source rebuilt them, then plan again; to overwrite them, set `sync.replace: true`".into(),
            ),
        }
    }
}

fn guard_hint(deletes: &[crate::model::ArtifactKey]) -> String {
    let shown: Vec<String> = deletes
        .iter()
        .take(50)
        .map(|k| format!("  - {k}"))
        .collect();
    let more = deletes.len().saturating_sub(50);
    format!(
        "these would be deleted:\n{}{}\nif that is intended, plan again with `--allow-deletes {}`",
        shown.join("\n"),
        if more > 0 {
            format!("\n  ... and {more} more")
        } else {
            String::new()
        },
        deletes.len()
    )
}

impl Decides for PlanFileError {
    fn hint(&self) -> Option<String> {
        match self {
            PlanFileError::Tampered { .. } => Some(
                "a plan is applied only as `pkgsync plan` wrote it: write it again with `pkgsync plan --out`, and compare plans with `pkgsync diff`, not by editing".into(),
            ),
            _ => None,
        }
    }
}

impl Decides for PromotionError {
    fn exit_code(&self) -> Option<Exit> {
        matches!(self, PromotionError::NotApplied { .. }).then_some(Exit::Refused)
    }
}
