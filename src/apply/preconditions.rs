//! Checks each action of a plan against what apply observes now. Pure.
//!
//! An action whose effect is already there is done (that makes a rerun safe); one
//! whose premise moved in any other way makes the plan stale.

use crate::model::{ObsOrigin, TargetInventory};
use crate::obs::xml::Binary;
use crate::plan::{Action, ActionKind, SourceExpectation};
use std::collections::BTreeMap;

/// What the source holds now, for the origins of the plan's uploads. An origin
/// missing from the map is no longer built.
pub type SourceObservation = BTreeMap<ObsOrigin, Binary>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead. For a replace whose old file is already gone, only the upload is left.
    Pending,
    /// The effect is already there.
    Done(String),
    /// The target holds a file of this name whose content is not known to be ours:
    /// download ours and compare sha256 before deciding (done if equal, stale if not).
    CompareContent { stored_sha256: Option<String> },
    /// The premise moved: the plan must not be applied.
    Stale(String),
}

pub fn check(action: &Action, target: &TargetInventory, source: &SourceObservation) -> Verdict {
    let stored = target.packages.get(&action.key());
    match action.action {
        ActionKind::Delete => match stored {
            None => Verdict::Done("already gone".into()),
            Some(p) if action.target.sha256.is_none() || p.sha256 == action.target.sha256 => {
                Verdict::Pending
            }
            Some(p) => Verdict::Stale(format!(
                "the package to delete changed on Packagecloud (sha256 {} instead of {})",
                p.sha256.as_deref().unwrap_or("unknown"),
                action.target.sha256.as_deref().unwrap_or("unknown")
            )),
        },
        ActionKind::Upload | ActionKind::Replace => {
            // The source first: a file rebuilt since planning cannot be compared
            // with what the plan expected, nor uploaded.
            if let Some(change) = source_change(action, source) {
                return Verdict::Stale(change);
            }
            let planned_old = action.action == ActionKind::Replace
                && stored.is_some_and(|p| p.sha256 == action.target.sha256);
            match stored {
                Some(p) if !planned_old => Verdict::CompareContent {
                    stored_sha256: p.sha256.clone(),
                },
                _ => Verdict::Pending,
            }
        }
    }
}

/// How the source file moved since planning, if it did.
fn source_change(action: &Action, source: &SourceObservation) -> Option<String> {
    let expect = action.source.as_ref()?;
    let Some(now) = source.get(&expect.origin()) else {
        return Some(format!("`{}` is no longer built on OBS", expect.origin()));
    };
    let md5_moved = match (&expect.md5, &now.md5) {
        (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
        _ => false,
    };
    if now.size != expect.size || now.mtime != expect.mtime || md5_moved {
        return Some(format!(
            "`{}` was rebuilt on OBS ({} bytes, mtime {} when planned; {} bytes, mtime {} now)",
            expect.origin(),
            expect.size,
            expect.mtime,
            now.size,
            now.mtime
        ));
    }
    if expect.md5.is_none() && now.valid_md5().is_none() {
        return Some(format!(
            "OBS lists no valid md5 for `{}` (got {:?}), so its download cannot be verified",
            expect.origin(),
            now.md5
        ));
    }
    None
}

/// What a download for `action` must match: the plan's size and mtime, and the
/// md5 the plan recorded or, since plans of uploads do not carry one (the build
/// API lists md5s only per package), the one OBS lists now. [`check`] made sure
/// there is one.
pub fn download_expectation(action: &Action, source: &SourceObservation) -> SourceExpectation {
    let mut expect = action
        .source
        .clone()
        .expect("uploads and replaces carry their source");
    if expect.md5.is_none() {
        expect.md5 = source.get(&expect.origin()).and_then(|now| now.valid_md5());
    }
    expect
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArtifactKey, TargetPackage};
    use crate::plan::{SourceExpectation, TargetExpectation};

    fn upload() -> Action {
        Action {
            action: ActionKind::Upload,
            distro_version: "fedora/39".into(),
            filename: "a-1-1.x86_64.rpm".into(),
            package_type: "rpm".into(),
            source: Some(SourceExpectation {
                project: "p".into(),
                repository: "Fedora_39".into(),
                arch: "x86_64".into(),
                package: "a".into(),
                filename: "a-1-1.x86_64.rpm".into(),
                size: 10,
                mtime: 100,
                md5: Some("0".repeat(32)),
            }),
            target: TargetExpectation::absent(),
            unsafe_name: false,
        }
    }

    fn source_of(action: &Action, size: u64) -> SourceObservation {
        let e = action.source.as_ref().unwrap();
        [(
            e.origin(),
            Binary {
                filename: e.filename.clone(),
                size,
                mtime: e.mtime,
                md5: e.md5.clone(),
            },
        )]
        .into()
    }

    fn target_with(key: ArtifactKey, sha: &str) -> TargetInventory {
        let mut t = TargetInventory::default();
        t.packages.insert(
            key.clone(),
            TargetPackage {
                key,
                package_type: "rpm".into(),
                sha256: Some(sha.into()),
                md5: None,
                details_path: None,
            },
        );
        t
    }

    #[test]
    fn upload_goes_ahead_when_source_is_unchanged_and_target_absent() {
        let a = upload();
        assert_eq!(
            check(&a, &TargetInventory::default(), &source_of(&a, 10)),
            Verdict::Pending
        );
    }

    #[test]
    fn rebuilt_or_vanished_source_makes_the_plan_stale() {
        let a = upload();
        assert!(matches!(
            check(&a, &TargetInventory::default(), &source_of(&a, 11)),
            Verdict::Stale(_)
        ));
        assert!(matches!(
            check(&a, &TargetInventory::default(), &BTreeMap::new()),
            Verdict::Stale(_)
        ));
    }

    #[test]
    fn upload_already_on_target_needs_a_content_comparison() {
        let a = upload();
        let verdict = check(&a, &target_with(a.key(), "abc"), &source_of(&a, 10));
        assert_eq!(
            verdict,
            Verdict::CompareContent {
                stored_sha256: Some("abc".into())
            }
        );
    }

    #[test]
    fn delete_is_done_when_gone_and_stale_when_changed() {
        let mut d = upload();
        d.action = ActionKind::Delete;
        d.source = None;
        d.target = TargetExpectation {
            present: true,
            sha256: Some("abc".into()),
        };
        assert!(matches!(
            check(&d, &TargetInventory::default(), &BTreeMap::new()),
            Verdict::Done(_)
        ));
        assert_eq!(
            check(&d, &target_with(d.key(), "abc"), &BTreeMap::new()),
            Verdict::Pending
        );
        assert!(matches!(
            check(&d, &target_with(d.key(), "def"), &BTreeMap::new()),
            Verdict::Stale(_)
        ));
    }
}
