//! Checks each action of a plan against what apply observes now. Pure.
//!
//! An action whose effect is already there is done (that makes a rerun safe); one
//! whose premise moved in any other way makes the plan stale.

use crate::model::TargetInventory;
use crate::plan::{Action, ActionKind};
use crate::source::Rechecked;

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

pub fn check(action: &Action, target: &TargetInventory, source: &Rechecked) -> Verdict {
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
            let Some(expect) = &action.source else {
                return Verdict::Stale("the plan names no source".into());
            };
            // The planned content is there (a rerun after a move whose
            // answer was lost, say): done, whatever the source holds now.
            if let (Some(p), Some(planned)) = (stored, &expect.sha256)
                && p.sha256
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(planned))
            {
                return Verdict::Done("already on Packagecloud".into());
            }
            if let Err(why) = source.download(&expect.provenance) {
                return Verdict::Stale(why.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArtifactKey, ObsBuilt, ObsOrigin, Provenance, TargetPackage};
    use crate::plan::{SourceExpectation, TargetExpectation};
    use crate::source::Download;

    fn upload() -> Action {
        Action {
            action: ActionKind::Upload,
            distro_version: "fedora/39".into(),
            filename: "a-1-1.x86_64.rpm".into(),
            package_type: "rpm".into(),
            source: Some(SourceExpectation {
                provenance: Provenance::Obs(ObsBuilt {
                    origin: ObsOrigin {
                        project: "p".into(),
                        repository: "Fedora_39".into(),
                        arch: "x86_64".into(),
                        package: "a".into(),
                        filename: "a-1-1.x86_64.rpm".into(),
                    },
                    mtime: 100,
                }),
                size: Some(10),
                md5: Some("0".repeat(32)),
                sha256: None,
                sha1: None,
                sha512: None,
                also_listed_by: Vec::new(),
            }),
            target: TargetExpectation::absent(),
            unsafe_name: false,
        }
    }

    /// The source's recheck of `action`: unchanged, or moved for `why`.
    fn rechecked(action: &Action, moved: Option<&str>) -> Rechecked {
        let e = action.source.as_ref().unwrap();
        let recheck = match moved {
            Some(why) => Err(why.to_string()),
            None => Ok(Download {
                url: "http://obs/a".into(),
                auth: crate::http::Auth::None,
                label: e.provenance.to_string(),
                identity: e.provenance.to_string(),
                size: e.size.unwrap(),
                checksums: e.checksums(),
                promote_url: None,
            }),
        };
        Rechecked([(e.provenance.clone(), recheck)].into(), Vec::new())
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
            check(&a, &TargetInventory::default(), &rechecked(&a, None)),
            Verdict::Pending
        );
    }

    #[test]
    fn a_moved_or_unchecked_source_makes_the_plan_stale() {
        let a = upload();
        assert_eq!(
            check(
                &a,
                &TargetInventory::default(),
                &rechecked(&a, Some("rebuilt"))
            ),
            Verdict::Stale("rebuilt".into())
        );
        assert!(matches!(
            check(&a, &TargetInventory::default(), &Rechecked::default()),
            Verdict::Stale(_)
        ));
    }

    #[test]
    fn upload_already_on_target_needs_a_content_comparison() {
        let a = upload();
        let verdict = check(&a, &target_with(a.key(), "abc"), &rechecked(&a, None));
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
        let none = Rechecked::default();
        assert!(matches!(
            check(&d, &TargetInventory::default(), &none),
            Verdict::Done(_)
        ));
        assert_eq!(
            check(&d, &target_with(d.key(), "abc"), &none),
            Verdict::Pending
        );
        assert!(matches!(
            check(&d, &target_with(d.key(), "def"), &none),
            Verdict::Stale(_)
        ));
    }
}
