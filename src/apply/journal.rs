//! The record of what apply did: one JSON line per action with its outcome. The
//! summary is built from it, and users keep it as an audit log.

use crate::plan::{Action, ActionKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Uploaded,
    Replaced,
    Deleted,
    /// The effect was already there (a rerun, or a lost answer that had succeeded).
    AlreadyDone,
    Failed,
    /// Not attempted: deletes wait until every upload succeeded.
    NotRun,
    /// An upload that Packagecloud stored other than it was sent (another sha256
    /// or name): pkgsync's own damage, deleted next and uploaded again. Not an
    /// outcome of the action; the record lets a rerun repair it after a crash.
    Damaged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub plan_id: String,
    pub action: ActionKind,
    pub distro_version: String,
    pub filename: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Only on `damaged` records: what Packagecloud reported it stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<StoredCopy>,
}

/// A file as Packagecloud stored it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StoredCopy {
    pub distro_version: String,
    pub filename: String,
    pub sha256: String,
}

impl Record {
    pub fn new(plan_id: &str, action: &Action, outcome: Outcome, detail: Option<String>) -> Self {
        Self {
            plan_id: plan_id.to_string(),
            action: action.action,
            distro_version: action.distro_version.clone(),
            filename: action.filename.clone(),
            outcome,
            detail,
            stored: None,
        }
    }
}

/// Appends records to a file as they happen, and keeps them for the summary.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    records: Mutex<Vec<Record>>,
    /// Damaged uploads of earlier runs (from the file), and of this one.
    damaged: Mutex<BTreeSet<StoredCopy>>,
    /// Also print each record on stdout as it is written (`apply --format json`).
    echo: bool,
}

impl Journal {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        // Lines that do not parse (another version's, a torn last line) say
        // nothing about damage; they are skipped.
        let damaged = std::io::BufReader::new(&file)
            .split(b'\n')
            .map_while(Result::ok)
            .filter_map(|line| serde_json::from_slice::<Record>(&line).ok())
            .filter(|r| r.outcome == Outcome::Damaged)
            .filter_map(|r| r.stored)
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            records: Mutex::new(Vec::new()),
            damaged: Mutex::new(damaged),
            echo: false,
        })
    }

    /// Each record is also printed on stdout, as one JSON line, when it is written.
    pub fn echo_to_stdout(mut self) -> Self {
        self.echo = true;
        self
    }

    /// Whether pkgsync itself once uploaded this copy damaged: then it is its own
    /// to replace, not someone else's content.
    pub fn is_own_damage(&self, copy: &StoredCopy) -> bool {
        self.damaged.lock().expect("journal lock").contains(copy)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the line at once, so a crash keeps everything up to it.
    pub fn record(&self, record: Record) -> std::io::Result<()> {
        let line = serde_json::to_string(&record).expect("a record serialises");
        {
            let mut file = self.file.lock().expect("journal lock");
            // One write per line, so that a crash cannot glue two records; a
            // damaged copy is on disk before pkgsync deletes it.
            file.write_all(format!("{line}\n").as_bytes())?;
            if record.outcome == Outcome::Damaged {
                file.sync_data()?;
            }
            if self.echo {
                println!("{line}");
            }
        }
        if let Some(stored) = record.stored.clone() {
            self.damaged.lock().expect("journal lock").insert(stored);
        }
        self.records.lock().expect("journal lock").push(record);
        Ok(())
    }

    pub fn records(&self) -> Vec<Record> {
        self.records.lock().expect("journal lock").clone()
    }
}

/// The last line of `apply --format json`: how many records of each outcome
/// this run wrote for `plan_id`, whether the plan is done, and the text summary.
pub fn summary_json(plan_id: &str, records: &[Record]) -> String {
    let mine: Vec<Record> = records
        .iter()
        .filter(|r| r.plan_id == plan_id)
        .cloned()
        .collect();
    let mut counts = serde_json::Map::new();
    for outcome in [
        Outcome::Uploaded,
        Outcome::Replaced,
        Outcome::Deleted,
        Outcome::AlreadyDone,
        Outcome::Failed,
        Outcome::NotRun,
        Outcome::Damaged,
    ] {
        let name = serde_json::to_value(outcome).expect("an outcome serialises");
        let n = mine.iter().filter(|r| r.outcome == outcome).count();
        counts.insert(name.as_str().unwrap_or_default().to_string(), n.into());
    }
    let (text, complete) = summarise(&mine);
    serde_json::json!({
        "type": "summary",
        "plan_id": plan_id,
        "counts": counts,
        "complete": complete,
        "summary": text,
    })
    .to_string()
}

/// `Apply complete: 3 uploaded, 1 deleted, 2 already done.` or, on failures,
/// `3 of 40 uploads failed: ...`.
pub fn summarise(records: &[Record]) -> (String, bool) {
    let records: Vec<&Record> = records
        .iter()
        .filter(|r| r.outcome != Outcome::Damaged)
        .collect();
    let count = |o: Outcome| records.iter().filter(|r| r.outcome == o).count();
    let failed: Vec<&Record> = records
        .iter()
        .copied()
        .filter(|r| r.outcome == Outcome::Failed)
        .collect();
    if failed.is_empty() && count(Outcome::NotRun) == 0 {
        return (
            format!(
                "Apply complete: {} uploaded, {} replaced, {} deleted, {} already done.",
                count(Outcome::Uploaded),
                count(Outcome::Replaced),
                count(Outcome::Deleted),
                count(Outcome::AlreadyDone)
            ),
            true,
        );
    }
    let mut lines = Vec::new();
    for kind in [ActionKind::Upload, ActionKind::Replace, ActionKind::Delete] {
        let of_kind = records.iter().filter(|r| r.action == kind).count();
        let failed_of_kind: Vec<&&Record> = failed.iter().filter(|r| r.action == kind).collect();
        if !failed_of_kind.is_empty() {
            let names: Vec<String> = failed_of_kind
                .iter()
                .map(|r| {
                    format!(
                        "`{}/{}` ({})",
                        crate::display::text(&r.distro_version),
                        crate::display::text(&r.filename),
                        crate::display::text(r.detail.as_deref().unwrap_or("failed"))
                    )
                })
                .collect();
            lines.push(format!(
                "{} of {of_kind} {}s failed: {}",
                failed_of_kind.len(),
                kind.as_str(),
                names.join(", ")
            ));
        }
    }
    let not_run = count(Outcome::NotRun);
    if not_run > 0 {
        lines.push(format!(
            "{not_run} delete(s) not run because an upload failed"
        ));
    }
    lines.push("rerun the same plan to finish the rest".to_string());
    (lines.join("\n"), false)
}
