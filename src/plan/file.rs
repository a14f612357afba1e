//! The plan file: canonical JSON, its digest, and reading with verification.
//!
//! Canonical means: keys sorted (serde_json's default map), no insignificant
//! whitespace inside values, top-level keys one per line and list items one per
//! line, so a plan reads well as a diff in a pull request. `plan_id` is blake3 over
//! the compact canonical form of everything else, so any edit is detected.

use super::{Action, FORMAT_MAJOR, Plan};
pub use crate::digest::{canonical_compact, digest};
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::io::Write;
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

/// `blake3:<hex>` over the canonical body: the compact canonical JSON of the
/// plan without its `plan_id`, hashed as it is written, never held whole.
pub fn plan_id(plan: &Plan) -> String {
    body_digest(&top_level(plan)).expect("a plan always serialises")
}

/// The text `plan_id` is computed over: the plan without its `plan_id`.
pub fn canonical_body(plan: &Plan) -> String {
    let mut out = Vec::new();
    write_canonical_body(&top_level(plan), &mut out).expect("writing to memory never fails");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// The file text: one top-level key per line, list items one per line.
pub fn to_file_text(plan: &Plan) -> String {
    let mut out = Vec::new();
    write_file_text(plan, &mut out).expect("writing to memory never fails");
    String::from_utf8(out).expect("JSON is UTF-8")
}

fn write_file_text(plan: &Plan, out: &mut impl Write) -> std::io::Result<()> {
    let fields = top_level(plan);
    out.write_all(b"{\n")?;
    let last = fields.len().saturating_sub(1);
    for (i, (key, value)) in fields.iter().enumerate() {
        write!(out, "  {}: ", Value::String(key.to_string()))?;
        if value.is_list() {
            let mut empty = true;
            value.each(|item| {
                out.write_all(if std::mem::take(&mut empty) {
                    b"[\n    "
                } else {
                    b",\n    "
                })?;
                serde_json::to_writer(&mut *out, item)?;
                Ok(())
            })?;
            out.write_all(if empty { b"[]" } else { b"\n  ]" })?;
        } else {
            value.each(|item| Ok(serde_json::to_writer(&mut *out, item)?))?;
        }
        out.write_all(if i < last { b",\n" } else { b"\n" })?;
    }
    out.write_all(b"}\n")
}

/// `blake3:` of the canonical body of `fields`, hashed as it is written.
fn body_digest(fields: &[(String, TopLevel<'_>)]) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    write_canonical_body(fields, &mut HashWriter(&mut hasher))?;
    Ok(format!("blake3:{}", hasher.finalize().to_hex()))
}

/// The compact canonical form of the body (every field but `plan_id`): what
/// `canonical_compact` gives for the whole, written part by part.
fn write_canonical_body(
    fields: &[(String, TopLevel<'_>)],
    out: &mut impl Write,
) -> std::io::Result<()> {
    out.write_all(b"{")?;
    let mut first = true;
    for (key, value) in fields.iter().filter(|(key, _)| key != "plan_id") {
        if !std::mem::take(&mut first) {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b":")?;
        if value.is_list() {
            let mut empty = true;
            out.write_all(b"[")?;
            value.each(|item| {
                if !std::mem::take(&mut empty) {
                    out.write_all(b",")?;
                }
                Ok(serde_json::to_writer(&mut *out, item)?)
            })?;
            out.write_all(b"]")?;
        } else {
            value.each(|item| Ok(serde_json::to_writer(&mut *out, item)?))?;
        }
    }
    out.write_all(b"}")
}

/// One top-level value of a plan. The lists that grow with the packages are
/// turned into JSON values one item at a time, so that a plan of 50,000
/// uploads never exists as one JSON tree: a plan's actions when it is
/// written, a file's values (borrowed from its text) when it is read.
enum TopLevel<'p> {
    Value(Value),
    Actions(&'p [Action]),
    Raw(&'p RawValue),
}

impl TopLevel<'_> {
    fn is_list(&self) -> bool {
        match self {
            TopLevel::Actions(_) | TopLevel::Value(Value::Array(_)) => true,
            TopLevel::Value(_) => false,
            TopLevel::Raw(raw) => raw.get().trim_start().starts_with('['),
        }
    }

    /// Calls `f` with each list item (or with the value itself, if not a list).
    fn each(&self, mut f: impl FnMut(&Value) -> std::io::Result<()>) -> std::io::Result<()> {
        match self {
            TopLevel::Actions(actions) => actions.iter().try_for_each(|a| {
                f(&serde_json::to_value(a).expect("an action always serialises"))
            }),
            TopLevel::Value(Value::Array(items)) => items.iter().try_for_each(f),
            TopLevel::Value(value) => f(value),
            TopLevel::Raw(raw) if self.is_list() => {
                let items: Vec<&RawValue> = serde_json::from_str(raw.get())?;
                items
                    .into_iter()
                    .try_for_each(|item| f(&serde_json::from_str(item.get())?))
            }
            TopLevel::Raw(raw) => f(&serde_json::from_str(raw.get())?),
        }
    }
}

/// The plan's top-level keys in canonical (sorted) order with their values.
fn top_level(plan: &Plan) -> Vec<(String, TopLevel<'_>)> {
    let Value::Object(head) =
        serde_json::to_value(without_actions(plan)).expect("a plan always serialises")
    else {
        unreachable!("a plan serialises to an object")
    };
    head.into_iter()
        .map(|(key, value)| {
            let value = if key == "actions" {
                TopLevel::Actions(&plan.actions)
            } else {
                TopLevel::Value(value)
            };
            (key, value)
        })
        .collect()
}

/// A copy of everything but the actions. Every field is named (no `..`), so
/// that a new field cannot be left out of the file by accident.
fn without_actions(plan: &Plan) -> Plan {
    let Plan {
        format_version,
        tool,
        plan_id,
        config_digest,
        config,
        scope,
        guards,
        observed,
        summary,
        unchanged,
        withheld,
        indexes,
        after,
        actions: _,
    } = plan;
    Plan {
        format_version: format_version.clone(),
        tool: tool.clone(),
        plan_id: plan_id.clone(),
        config_digest: config_digest.clone(),
        config: config.clone(),
        scope: scope.clone(),
        guards: guards.clone(),
        observed: observed.clone(),
        summary: *summary,
        unchanged: unchanged.clone(),
        withheld: withheld.clone(),
        indexes: indexes.clone(),
        after: after.clone(),
        actions: Vec::new(),
    }
}

/// Feeds written bytes to a hasher.
struct HashWriter<'h>(&'h mut blake3::Hasher);

impl Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn write(plan: &Plan, path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    // Write beside and rename, so a crash never leaves half a plan.
    let tmp = path.with_extension("json.tmp");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    write_file_text(plan, &mut file)?;
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
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
///
/// The text is read as its top-level values, borrowed from it (no JSON tree of
/// the whole plan): each is made canonical on its own, list items one by one,
/// to check the `plan_id`, and only then is the text read as a `Plan`.
pub fn parse(text: &str, path: &Path) -> Result<Plan, PlanFileError> {
    let top: BTreeMap<String, &RawValue> = match serde_json::from_str(text) {
        Ok(top) => top,
        // Valid JSON of another shape has no format version to read.
        Err(_) if serde_json::from_str::<IgnoredAny>(text).is_ok() => BTreeMap::new(),
        Err(e) => {
            return Err(PlanFileError::Json {
                path: path.to_path_buf(),
                message: e.to_string(),
            });
        }
    };
    let string = |key: &str| {
        top.get(key)
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
    };
    let version = string("format_version").unwrap_or_else(|| "(missing)".to_string());
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
    let recorded = string("plan_id").unwrap_or_else(|| "(missing)".to_string());
    let fields: Vec<(String, TopLevel)> = top
        .iter()
        .map(|(key, raw)| (key.clone(), TopLevel::Raw(raw)))
        .collect();
    let actual = body_digest(&fields).map_err(|e| PlanFileError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if recorded != actual {
        return Err(PlanFileError::Tampered {
            path: path.to_path_buf(),
            recorded: crate::display::text(&recorded).into_owned(),
            actual,
        });
    }
    serde_json::from_str(text).map_err(|e| PlanFileError::Shape {
        path: path.to_path_buf(),
        message: shape_message(&top, e),
    })
}

/// serde's message, and for an action that does not read as one, which
/// action it is: serde alone says only that some `source` matched no kind of
/// source. Messages quote the file's own (edited, perhaps hostile) text: escaped.
fn shape_message(top: &BTreeMap<String, &RawValue>, error: serde_json::Error) -> String {
    let actions: Vec<&RawValue> = top
        .get("actions")
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default();
    let broken = actions.iter().enumerate().find_map(|(i, raw)| {
        serde_json::from_str::<Action>(raw.get())
            .err()
            .map(|e| (i, raw, e))
    });
    let message = match broken {
        Some((i, raw, e)) => {
            let action: Value = serde_json::from_str(raw.get()).unwrap_or_default();
            let field = |name: &str| action.get(name).and_then(Value::as_str).unwrap_or("?");
            format!(
                "action {} (`{} {}/{}`): {e}",
                i + 1,
                field("action"),
                field("distro_version"),
                field("filename")
            )
        }
        None => error.to_string(),
    };
    crate::display::text(&message).into_owned()
}
