//! What two plans disagree on: actions added and removed per distro/version, each
//! once, and the unified diff of their text renderings for what the actions do not
//! show (withheld deletes, notes) when the actions are the same.

use super::{Action, Plan, render};
use crate::display;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlanDiff {
    /// distro/version → actions only in the new plan (`upload file`, `delete file`).
    pub added: BTreeMap<String, Vec<String>>,
    /// distro/version → actions only in the old plan.
    pub removed: BTreeMap<String, Vec<String>>,
    /// Differences in the recorded config and guards (`key: old → new`); they do
    /// not make the actions differ, but a reviewer wants to see them.
    pub settings: Vec<String>,
    /// The promotions follow different plans of their source (`plan --after`),
    /// `old → new`: that is a difference, as the gate apply checks differs.
    pub after: Option<String>,
    /// The summary lines, `old → new`, when they differ.
    pub summary: Option<String>,
    pub text_diff: String,
}

impl PlanDiff {
    pub fn same_actions(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// Whether apply would do something else: other actions, or a promotion
    /// gated by another plan (or by none).
    pub fn differs(&self) -> bool {
        !self.same_actions() || self.after.is_some()
    }
}

fn action_set(plan: &Plan) -> BTreeSet<(String, String)> {
    plan.actions.iter().map(describe).collect()
}

/// An action as compared between plans: kind, file and, for uploads, the size,
/// the md5 listed on OBS and the other checksums a source lists (the same name
/// with other content is a different action).
fn describe(action: &Action) -> (String, String) {
    let mut text = format!("{} {}", action.action.as_str(), action.filename);
    if let Some(source) = &action.source {
        let _ = write!(text, " ({}", crate::model::shown_size(source.size));
        // OBS's md5 is read at apply, so a plan may have none: nothing to show.
        if let Some(md5) = &source.md5 {
            let _ = write!(text, ", md5 {md5}");
        }
        for checksum in source.checksums() {
            if checksum.algorithm != crate::checksum::Algorithm::Md5 {
                let _ = write!(text, ", {checksum}");
            }
        }
        text.push(')');
    }
    (action.distro_version.clone(), text)
}

pub fn diff(old: &Plan, new: &Plan) -> PlanDiff {
    let old_set = action_set(old);
    let new_set = action_set(new);
    let mut result = PlanDiff::default();
    for (dv, text) in new_set.difference(&old_set) {
        result
            .added
            .entry(dv.clone())
            .or_default()
            .push(text.clone());
    }
    for (dv, text) in old_set.difference(&new_set) {
        result
            .removed
            .entry(dv.clone())
            .or_default()
            .push(text.clone());
    }
    result.settings = old.config.differences(&new.config);
    let follows = |plan: &Plan| {
        plan.after
            .as_ref()
            .map_or("(no plan)".to_string(), |a| a.plan_id.clone())
    };
    if old.after != new.after {
        result.after = Some(format!("{} → {}", follows(old), follows(new)));
    }
    if old.guards.allow_deletes != new.guards.allow_deletes {
        let show = |g: Option<usize>| g.map_or("(none)".to_string(), |n| n.to_string());
        result.settings.push(format!(
            "`--allow-deletes`: {} → {}",
            show(old.guards.allow_deletes),
            show(new.guards.allow_deletes)
        ));
    }
    let (old_summary, new_summary) = (
        render::summary_line(&old.summary),
        render::summary_line(&new.summary),
    );
    if old_summary != new_summary {
        result.summary = Some(format!("{old_summary} → {new_summary}"));
    }
    let old_text = render::text(old, false);
    let new_text = render::text(new, false);
    result.text_diff = similar::TextDiff::from_lines(&old_text, &new_text)
        .unified_diff()
        .context_radius(3)
        .header("old plan", "new plan")
        .to_string();
    result
}

/// The report `pkgsync diff` prints.
pub fn render(diff: &PlanDiff) -> String {
    let mut out = String::new();
    if !diff.differs() {
        out.push_str("The plans have the same actions.\n");
    }
    let groups: BTreeSet<&String> = diff.added.keys().chain(diff.removed.keys()).collect();
    for dv in groups {
        let _ = writeln!(out, "{}:", display::text(dv));
        for line in diff.removed.get(dv).into_iter().flatten() {
            let _ = writeln!(out, "  - {}", display::text(line));
        }
        for line in diff.added.get(dv).into_iter().flatten() {
            let _ = writeln!(out, "  + {}", display::text(line));
        }
    }
    if let Some(after) = &diff.after {
        let _ = writeln!(
            out,
            "the promotions follow other plans of their source: {}",
            display::text(after)
        );
    }
    if !diff.settings.is_empty() {
        let _ = writeln!(out, "settings:");
        for line in &diff.settings {
            let _ = writeln!(out, "  {}", display::text(line));
        }
    }
    if let Some(summary) = &diff.summary {
        let _ = writeln!(out, "summary: {summary}");
    }
    // With other actions, the text diff would show each of them a second time.
    if diff.same_actions() && !diff.text_diff.is_empty() {
        let _ = writeln!(out, "\n{}", diff.text_diff);
    }
    out
}
