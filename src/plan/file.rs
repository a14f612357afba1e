//! The plan file: canonical JSON, its digest, and reading with verification.
//!
//! Canonical means: keys sorted (serde_json's default map), no insignificant
//! whitespace inside values, top-level keys one per line and list items one per
//! line, so a plan reads well as a diff in a pull request. `plan_id` is blake3 over
//! the compact canonical form of everything else, so any edit is detected.

use super::{FORMAT_MAJOR, Plan};
pub use crate::digest::{canonical_compact, digest};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("plan file `{path}` is not valid JSON: {message}")]
    Json { path: PathBuf, message: String },
    #[error("plan file `{path}` has format version `{found}`; this pkgsync reads {FORMAT_MAJOR}.x")]
    UnknownFormat { path: PathBuf, found: String },
    #[error(
        "plan file `{path}` was modified after it was written: its `plan_id` is `{recorded}` but its content hashes to `{actual}`"
    )]
    Tampered {
        path: PathBuf,
        recorded: String,
        actual: String,
    },
    #[error("plan file `{path}` does not have the shape of a plan: {message}")]
    Shape { path: PathBuf, message: String },
}

/// The text `plan_id` is computed over: the plan without its `plan_id`.
pub fn canonical_body(plan: &Plan) -> String {
    let mut value = serde_json::to_value(plan).expect("a plan always serialises");
    body_of(&mut value);
    canonical_compact(&value)
}

fn body_of(value: &mut Value) -> Option<Value> {
    value.as_object_mut().and_then(|map| map.remove("plan_id"))
}

/// The file text: one top-level key per line, list items one per line.
pub fn to_file_text(plan: &Plan) -> String {
    let value = serde_json::to_value(plan).expect("a plan always serialises");
    let Value::Object(map) = value else {
        unreachable!("a plan serialises to an object")
    };
    let mut out = String::from("{\n");
    let last = map.len().saturating_sub(1);
    for (i, (key, value)) in map.iter().enumerate() {
        out.push_str(&format!("  {}: ", Value::String(key.clone())));
        match value {
            Value::Array(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (j, item) in items.iter().enumerate() {
                    out.push_str("    ");
                    out.push_str(&canonical_compact(item));
                    out.push_str(if j + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str("  ]");
            }
            other => out.push_str(&canonical_compact(other)),
        }
        out.push_str(if i < last { ",\n" } else { "\n" });
    }
    out.push_str("}\n");
    out
}

pub fn write(plan: &Plan, path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    // Write beside and rename, so a crash never leaves half a plan.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, to_file_text(plan))?;
    std::fs::rename(&tmp, path)
}

pub fn read(path: &Path) -> Result<Plan, PlanFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Checks the format version and the `plan_id` before trusting any content.
pub fn parse(text: &str, path: &Path) -> Result<Plan, PlanFileError> {
    let mut value: Value = serde_json::from_str(text).map_err(|e| PlanFileError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let version = value
        .get("format_version")
        .and_then(Value::as_str)
        .unwrap_or("(missing)")
        .to_string();
    // `<major>.<minor>`, digits only: "+1.0" or "1.x" are not versions we know.
    let major = version
        .split_once('.')
        .filter(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        })
        .and_then(|(major, _)| major.parse::<u64>().ok());
    if major != Some(FORMAT_MAJOR) {
        return Err(PlanFileError::UnknownFormat {
            path: path.to_path_buf(),
            found: crate::display::text(&version).into_owned(),
        });
    }
    let recorded = body_of(&mut value)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "(missing)".to_string());
    let actual = digest(&canonical_compact(&value));
    if recorded != actual {
        return Err(PlanFileError::Tampered {
            path: path.to_path_buf(),
            recorded: crate::display::text(&recorded).into_owned(),
            actual,
        });
    }
    if let Some(map) = value.as_object_mut() {
        map.insert("plan_id".into(), Value::String(recorded));
    }
    // Messages quote the file's own (edited, perhaps hostile) text: escaped.
    serde_json::from_value(value).map_err(|e| PlanFileError::Shape {
        path: path.to_path_buf(),
        message: crate::display::text(&e.to_string()).into_owned(),
    })
}
