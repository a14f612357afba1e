//! Renderings of a plan: terminal text in the style of terraform, markdown for a
//! pull-request comment, and JSON for machines.

//!
//! Every name and reason comes from outside (OBS, Packagecloud, or a plan file
//! edited by anyone): all of it is shown through [`crate::display`].

use super::{Action, ActionKind, After, Plan, Summary};
use crate::display;
use console::Style;
use std::collections::BTreeMap;
use std::fmt::Write;

mod sources;
use sources::{published_lines, sources_line};

/// GitHub refuses comments longer than this many characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

pub fn summary_line(summary: &Summary) -> String {
    if !summary.has_changes() {
        return format!("No changes. {} package(s) unchanged.", summary.unchanged);
    }
    let mut parts = vec![format!("{} to upload", summary.upload)];
    if summary.replace > 0 {
        parts.push(format!("{} to replace", summary.replace));
    }
    parts.push(format!("{} to delete", summary.delete));
    parts.push(format!("{} unchanged", summary.unchanged));
    format!("Plan: {}.", parts.join(", "))
}

fn marker(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Upload => "+",
        ActionKind::Replace => "-/+",
        ActionKind::Delete => "-",
    }
}

/// Where an action's file comes from, unescaped: callers escape for their medium.
fn detail(action: &Action, plan: &Plan) -> String {
    let origin = match &action.source {
        Some(s) => {
            let mut about: Vec<String> = s.size.map(human_size).into_iter().collect();
            if let Some(host) = other_host(&s.provenance) {
                about.push(format!("downloaded from ANOTHER HOST `{host}`"));
            }
            if let crate::model::Provenance::Promotion(file) = &s.provenance {
                about.push(format!("by {}", file.method.as_str()));
                if plan.after.as_ref().is_some_and(|a| !a.uploaded(file)) {
                    about.push("NOT uploaded by the plan this one follows".into());
                }
            }
            if !s.also_listed_by.is_empty() {
                about.push(format!("also listed by {}", s.also_listed_by.join(", ")));
            }
            format!("from {} ({})", s.provenance.place(), about.join(", "))
        }
        None => format!("orphan: {}", orphan_reason(&action.distro_version, plan)),
    };
    if action.unsafe_name {
        format!("{origin}; UNSAFE NAME: it holds characters shown escaped")
    } else {
        origin
    }
}

/// Why a stored file is an orphan, in the words of the source that feeds its
/// `distro/version` (by the config the plan was made with).
fn orphan_reason(distro_version: &str, plan: &Plan) -> &'static str {
    let config = &plan.config;
    let published = config.rpm_md.iter().any(|r| r.distro == distro_version)
        || config.deb.iter().any(|r| r.distro == distro_version);
    let gbs = config
        .gbs
        .iter()
        .any(|t| t.mapping.values().any(|d| d == distro_version));
    let only_obs = config.rpm_md.is_empty()
        && config.deb.is_empty()
        && config.gbs.is_empty()
        && config.promote.is_none();
    if published {
        "no longer listed by its published repository"
    } else if gbs {
        "no longer in the GBS tree's build"
    } else if config.promote.is_some() {
        "no longer in the repository it is promoted from"
    } else if only_obs || config.distro_mapping.values().any(|d| d == distro_version) {
        "no longer built on OBS"
    } else {
        "no longer offered by its source"
    }
}

/// The host a published rpm-md file is downloaded from when it is not the
/// repository's (an `xml:base` or absolute location the config allows).
fn other_host(provenance: &crate::model::Provenance) -> Option<String> {
    let crate::model::Provenance::RpmMd(file) = provenance else {
        return None;
    };
    crate::model::other_host(&file.repository_url, &file.url())
}

/// Actions grouped per distro/version, deletes first within each group.
fn grouped(plan: &Plan) -> BTreeMap<&str, Vec<&Action>> {
    let mut groups: BTreeMap<&str, Vec<&Action>> = BTreeMap::new();
    for action in &plan.actions {
        groups
            .entry(&action.distro_version)
            .or_default()
            .push(action);
    }
    for actions in groups.values_mut() {
        actions.sort_by_key(|a| (a.action != ActionKind::Delete, a.filename.as_str()));
    }
    groups
}

/// Terminal text. `color` alone decides styling (console's own terminal detection
/// is overridden); the command line passes what `--color` decided.
pub fn text(plan: &Plan, color: bool) -> String {
    let style = |s: Style| {
        if color {
            s.force_styling(true)
        } else {
            Style::new()
        }
    };
    let red = style(Style::new().red().bold());
    let green = style(Style::new().green());
    let yellow = style(Style::new().yellow());
    let bold = style(Style::new().bold());

    let mut out = String::new();
    let _ = writeln!(out, "{}", bold.apply_to(summary_line(&plan.summary)));
    if let Some(after) = &plan.after {
        let _ = writeln!(
            out,
            "  {}",
            after_line(plan, after, |s| display::text(s).into_owned())
        );
    }
    for (distro_version, actions) in grouped(plan) {
        let _ = writeln!(out, "\n  {}:", display::text(distro_version));
        for action in actions {
            let styled = match action.action {
                ActionKind::Delete => &red,
                ActionKind::Replace => &yellow,
                ActionKind::Upload => &green,
            };
            let line = format!(
                "{:>3} {:<7} {}",
                marker(action.action),
                action.action.as_str(),
                display::text(&action.filename)
            );
            let _ = writeln!(
                out,
                "  {}  {}",
                styled.apply_to(line),
                display::text(&detail(action, plan))
            );
        }
    }
    if plan.summary.delete > 0 {
        let _ = writeln!(
            out,
            "\n  {}",
            red.apply_to(format!(
                "! {} package(s) will be DELETED from Packagecloud",
                plan.summary.delete
            ))
        );
    }
    for withheld in &plan.withheld {
        let _ = writeln!(
            out,
            "\n  {}",
            yellow.apply_to(format!(
                "! {} delete(s) withheld in {}: the source's builds are incomplete",
                withheld.orphans,
                display::text(&withheld.distro_version)
            ))
        );
        for reason in &withheld.reasons {
            let _ = writeln!(out, "      {}", display::text(reason));
        }
    }
    let published = published_lines(&plan.config);
    if !published.is_empty() {
        let _ = writeln!(out, "\n  published repositories:");
        for line in published {
            let _ = writeln!(out, "    {}", display::text(&line));
        }
    }
    if !plan.unchanged.is_empty() {
        let groups: Vec<String> = plan
            .unchanged
            .iter()
            .map(|g| format!("{} in {}", g.count, display::text(&g.distro_version)))
            .collect();
        let _ = writeln!(out, "\n  unchanged: {}", groups.join(", "));
    }
    let _ = writeln!(out, "\n  plan_id: {}", plan.plan_id);
    out
}

/// `plan --after`, for the reviewer: which plan this promotion follows and
/// what apply will insist on.
fn after_line(plan: &Plan, after: &After, escape: impl Fn(&str) -> String) -> String {
    let mut line = format!(
        "Follows plan `{}` of `{}`: apply refuses unless `{}` holds the {} file(s) that plan uploaded and none of the {} it deleted.",
        escape(&after.plan_id),
        escape(&after.repo),
        escape(&after.repo),
        after.present.len(),
        after.absent.len()
    );
    let others = plan
        .actions
        .iter()
        .filter_map(|a| match &a.source.as_ref()?.provenance {
            crate::model::Provenance::Promotion(file) => Some(file),
            _ => None,
        })
        .filter(|file| !after.uploaded(file))
        .count();
    if others > 0 {
        line.push_str(&format!(
            " {others} file(s) promoted here were NOT uploaded by that plan (marked below)."
        ));
    }
    line
}

/// Markdown for a pull-request comment: summary, deletes first, long lists folded,
/// kept under GitHub's comment limit with a note of what was cut.
pub fn markdown(plan: &Plan) -> String {
    markdown_with_limit(plan, GITHUB_COMMENT_LIMIT)
}

pub fn markdown_with_limit(plan: &Plan, limit: usize) -> String {
    let head = markdown_head(plan);
    let tail = markdown_tail(plan);
    // Reserve room for the head, the tail and a note about anything cut.
    let note_room = 250;
    let budget = limit.saturating_sub(head.len() + tail.len() + note_room);
    let body = fit_sections(markdown_sections(plan), budget, limit);
    format!("{head}{body}{tail}")
}

/// The summary, the repository and the warnings a reviewer must not miss.
fn markdown_head(plan: &Plan) -> String {
    let mut head = String::new();
    let _ = writeln!(head, "### pkgsync plan\n");
    let _ = writeln!(head, "**{}**\n", summary_line(&plan.summary));
    let _ = writeln!(
        head,
        "Repository `{}` ← {}",
        display::markdown(&plan.config.packagecloud_repo),
        sources_line(&plan.config)
    );
    if let Some(after) = &plan.after {
        let _ = writeln!(
            head,
            "\n> [!IMPORTANT]\n> {}",
            after_line(plan, after, display::markdown)
        );
    }
    if plan.summary.delete > 0 {
        let _ = writeln!(
            head,
            "\n> [!WARNING]\n> This plan **deletes {} package(s)** from Packagecloud.",
            plan.summary.delete
        );
    }
    for withheld in &plan.withheld {
        let _ = writeln!(
            head,
            "\n> [!NOTE]\n> {} delete(s) withheld in `{}`: the source's builds are incomplete ({}).",
            withheld.orphans,
            display::markdown(&withheld.distro_version),
            withheld
                .reasons
                .iter()
                .take(5)
                .map(|r| display::markdown(r))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }

    head
}

/// Per kind of action (deletes first): its title and its table rows.
fn markdown_sections(plan: &Plan) -> Vec<(ActionKind, String, Vec<String>)> {
    let mut sections: Vec<(ActionKind, String, Vec<String>)> = Vec::new();
    for (kind, title) in [
        (ActionKind::Delete, "Delete"),
        (ActionKind::Replace, "Replace"),
        (ActionKind::Upload, "Upload"),
    ] {
        let lines: Vec<String> = plan
            .actions
            .iter()
            .filter(|a| a.action == kind)
            .map(|a| {
                format!(
                    "| `{}` | `{}` | {} |",
                    display::markdown(&a.distro_version),
                    display::markdown(&a.filename),
                    display::markdown(&detail(a, plan))
                )
            })
            .collect();
        if !lines.is_empty() {
            sections.push((kind, format!("{title} ({})", lines.len()), lines));
        }
    }

    sections
}

/// The unchanged counts and the plan id.
fn markdown_tail(plan: &Plan) -> String {
    let mut tail = String::new();
    if !plan.unchanged.is_empty() {
        let _ = writeln!(
            tail,
            "\n<details><summary>Unchanged ({})</summary>\n",
            plan.summary.unchanged
        );
        let _ = writeln!(tail, "| distro/version | packages |\n|---|---|");
        for g in &plan.unchanged {
            let _ = writeln!(
                tail,
                "| `{}` | {} |",
                display::markdown(&g.distro_version),
                g.count
            );
        }
        let _ = writeln!(tail, "\n</details>");
    }
    let _ = writeln!(tail, "\n<sub>plan_id `{}`</sub>", plan.plan_id);

    tail
}

/// The sections within `budget` characters. Lines are listed in order while
/// they fit; once one does not, the rest are cut, so what is shown is always
/// the start of each list (deletes first), and a note says what was cut.
fn fit_sections(
    sections: Vec<(ActionKind, String, Vec<String>)>,
    mut budget: usize,
    limit: usize,
) -> String {
    let mut body = String::new();
    let mut cut: Vec<(ActionKind, usize)> = Vec::new();
    let mut full = false;
    for (kind, title, lines) in sections {
        // Short lists stay open; deletes always open, so a reviewer cannot miss them.
        let open = lines.len() <= 20 || kind == ActionKind::Delete;
        let start = if open {
            format!("\n#### {title}\n\n| distro/version | file | |\n|---|---|---|\n")
        } else {
            format!(
                "\n<details><summary>{title}</summary>\n\n| distro/version | file | |\n|---|---|---|\n"
            )
        };
        let end = if open { "" } else { "\n</details>\n" };
        // A section is only started when its first line fits too.
        if full || start.len() + end.len() + lines[0].len() + 1 > budget {
            full = true;
            cut.push((kind, lines.len()));
            continue;
        }
        budget -= start.len() + end.len();
        body.push_str(&start);
        for (i, line) in lines.iter().enumerate() {
            if line.len() + 1 > budget {
                full = true;
                cut.push((kind, lines.len() - i));
                break;
            }
            budget -= line.len() + 1;
            body.push_str(line);
            body.push('\n');
        }
        body.push_str(end);
    }
    if !cut.is_empty() {
        let what: Vec<String> = cut
            .iter()
            .map(|(kind, n)| format!("{n} {}(s)", kind.as_str()))
            .collect();
        let _ = writeln!(
            body,
            "\n> {} not listed: cut to stay under GitHub's {limit}-character limit; run `pkgsync show PLAN` for the full list.",
            what.join(", ")
        );
    }
    body
}

pub fn json(plan: &Plan) -> String {
    super::file::to_file_text(plan)
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
