//! The gate of a promotion (`plan --after`): the state the reviewed plan of
//! the source repository led to there, recorded at plan and checked again at
//! apply, before any change.

use super::{DETAILS_CONCURRENCY, PromotionError, PromotionSource};
use crate::display::text;
use crate::model::{ArtifactKey, PromoteMethod, TargetInventory};
use crate::plan::{Action, ActionKind, After, Plan, StagedFile};
use futures::{StreamExt, TryStreamExt};

impl PromotionSource {
    /// `plan --after`: the state `plan` (the source repository's own
    /// reviewed plan) led to in the `distro/version`s this promotion takes,
    /// checked against the repository now: what it uploaded is there with the
    /// sha256 it planned, or (a plan of a source without sha256, such as OBS)
    /// the size and md5 it planned; what it deleted is not. With `move`, a file
    /// already moved to the target (`target`) counts as there.
    pub async fn after(
        &self,
        plan: &Plan,
        target: &TargetInventory,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<After, PromotionError> {
        if plan.config.packagecloud_repo != self.repo()
            || plan.config.packagecloud_url != self.promotion.from.url
        {
            return Err(self.unusable(format!(
                "the plan given to `--after` was made for `{}` at `{}`, not for this repository",
                text(&plan.config.packagecloud_repo),
                crate::display::ShownUrl::new(&plan.config.packagecloud_url)
            )));
        }
        let listing = self.fetch().await?;
        let promoted: Vec<&Action> = plan
            .actions
            .iter()
            .filter(|a| self.destination(&a.distro_version, canonical).is_some())
            .collect();
        let absent: Vec<ArtifactKey> = promoted
            .iter()
            .filter(|a| a.action == ActionKind::Delete)
            .map(|a| a.key())
            .collect();
        let uploads = promoted.iter().filter(|a| a.action != ActionKind::Delete);
        let looked_at: Vec<Result<StagedFile, ArtifactKey>> = futures::stream::iter(uploads)
            .map(|action| self.staged(action, &listing, target))
            .buffer_unordered(DETAILS_CONCURRENCY)
            .try_collect()
            .await?;
        let (mut present, mut missing) = (Vec::new(), Vec::new());
        for file in looked_at {
            match file {
                Ok(file) => present.push(file),
                Err(key) => missing.push(key),
            }
        }
        missing.sort();
        present.sort_by(|a, b| {
            (&a.distro_version, &a.filename).cmp(&(&b.distro_version, &b.filename))
        });
        let mut wrong = gone_or_changed(&missing);
        wrong.extend(still_there(&absent, &listing));
        if !wrong.is_empty() {
            return Err(self.not_applied(&plan.plan_id, wrong));
        }
        Ok(After {
            plan_id: plan.plan_id.clone(),
            repo: self.repo().to_string(),
            present,
            absent,
        })
    }

    /// One upload of the source repository's plan as that repository (or,
    /// moved, the target) holds it now: the file with its sha256, or its key
    /// when it is missing or other than planned.
    async fn staged(
        &self,
        action: &Action,
        listing: &TargetInventory,
        target: &TargetInventory,
    ) -> Result<Result<StagedFile, ArtifactKey>, PromotionError> {
        let key = action.key();
        let planned = action.source.as_ref();
        let planned_sha256 = planned.and_then(|s| s.sha256.as_deref());
        let same_sha256 = |held: &str| planned_sha256.is_some_and(|p| p.eq_ignore_ascii_case(held));
        let staged = |sha256: &str| StagedFile {
            distro_version: key.distro_version.clone(),
            filename: key.filename.clone(),
            sha256: sha256.to_string(),
        };
        let Some(held) = listing.packages.get(&key) else {
            // Moved on by an earlier promotion of this plan.
            let moved = target.packages.get(&key).and_then(|p| p.sha256.as_deref());
            return Ok(match moved {
                Some(sha256)
                    if self.promotion.method == PromoteMethod::Move
                        && (planned_sha256.is_none() || same_sha256(sha256)) =>
                {
                    Ok(staged(sha256))
                }
                _ => Err(key),
            });
        };
        let Some(sha256) = held.sha256.as_deref() else {
            return Ok(Err(key));
        };
        if planned_sha256.is_some() {
            return Ok(if same_sha256(sha256) {
                Ok(staged(sha256))
            } else {
                Err(key)
            });
        }
        // The plan lists no sha256 (OBS): its size and md5, against the details.
        let details = self
            .client
            .details(held)
            .await
            .map_err(|e| self.failed(e))?;
        let size = details
            .as_ref()
            .and_then(|d| d.size.as_deref())
            .and_then(|s| s.trim().parse::<u64>().ok());
        let md5 = details.as_ref().and_then(|d| d.md5sum.as_deref());
        let size_holds = planned
            .and_then(|s| s.size)
            .is_some_and(|planned| Some(planned) == size);
        let md5_holds = match planned.and_then(|s| s.md5.as_deref()) {
            Some(planned) => md5.is_some_and(|m| m.eq_ignore_ascii_case(planned)),
            None => true,
        };
        Ok(if size_holds && md5_holds {
            Ok(staged(sha256))
        } else {
            Err(key)
        })
    }

    /// At apply: the source still holds the state `after` recorded. With
    /// `method: move` a file already moved to the target (the same sha256
    /// there) counts as held.
    pub async fn gate(
        &self,
        after: &After,
        target: &TargetInventory,
    ) -> Result<(), PromotionError> {
        if after.repo != self.repo() {
            return Err(self.unusable(format!(
                "the plan follows a plan of `{}`, not of this repository",
                text(&after.repo)
            )));
        }
        let listing = self.fetch().await?;
        // A move keeps the `distro/version`, so the target's key is the same.
        let moved = |key: &ArtifactKey, sha256: &str| {
            self.promotion.method == PromoteMethod::Move
                && target
                    .packages
                    .get(key)
                    .is_some_and(|p| p.sha256.as_deref() == Some(sha256))
        };
        let mut changed = Vec::new();
        for file in &after.present {
            let key = ArtifactKey::new(&file.distro_version, &file.filename);
            let held = listing
                .packages
                .get(&key)
                .is_some_and(|p| p.sha256.as_deref() == Some(&file.sha256));
            if !held && !moved(&key, &file.sha256) {
                changed.push(key);
            }
        }
        let mut wrong = gone_or_changed(&changed);
        wrong.extend(still_there(&after.absent, &listing));
        if !wrong.is_empty() {
            return Err(self.not_applied(&after.plan_id, wrong));
        }
        Ok(())
    }

    fn not_applied(&self, plan_id: &str, wrong: Vec<String>) -> PromotionError {
        PromotionError::NotApplied {
            repo: self.repo().to_string(),
            plan_id: plan_id.to_string(),
            wrong,
        }
    }
}

fn gone_or_changed(keys: &[ArtifactKey]) -> Vec<String> {
    keys.iter()
        .map(|key| format!("`{key}`: missing, or other content than that plan uploaded"))
        .collect()
}

fn still_there(absent: &[ArtifactKey], listing: &TargetInventory) -> Vec<String> {
    absent
        .iter()
        .filter(|key| listing.packages.contains_key(*key))
        .map(|key| format!("`{key}`: still there, though that plan deleted it"))
        .collect()
}
