//! The plan file: canonical JSON, its digest, and reading with verification.
//!
//! Canonical means: keys sorted (serde_json's default map), no insignificant
//! whitespace inside values, top-level keys one per line and list items one per
//! line, so a plan reads well as a diff in a pull request. `plan_id` is blake3 over
//! the compact canonical form of everything else, so any edit is detected.

use super::{Action, FORMAT_MAJOR, Plan};
pub use crate::digest::{canonical_compact, digest};
use serde::Deserialize;
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
    body_digest(&top_level(plan), &mut |_, _, _| {}).expect("a plan always serialises")
}

/// The file text: one top-level key per line, list items one per line.
pub fn to_file_text(plan: &Plan) -> String {
    let mut out = Vec::new();
    write_file_text(plan, &mut out).expect("writing to memory never fails");
    String::from_utf8(out).expect("JSON is UTF-8")
}

fn write_file_text(plan: &Plan, out: &mut impl Write) -> std::io::Result<()> {
    write_fields(&top_level(plan), &FILE_TEXT, out, &mut |_, _, _| {})
}

/// `blake3:` of the canonical body of `fields`, hashed as it is written;
/// `seen` is shown each value hashed (with its index, for a list item).
fn body_digest(
    fields: &[(String, TopLevel<'_>)],
    seen: &mut dyn FnMut(&str, Option<usize>, &Value),
) -> std::io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    write_fields(fields, &CANONICAL_BODY, &mut hasher, seen)?;
    Ok(format!("blake3:{}", hasher.finalize().to_hex()))
}

/// How the top-level fields are laid out around their compact values.
struct Layout {
    open: &'static [u8],
    /// Before each key.
    indent: &'static [u8],
    colon: &'static [u8],
    /// Between two fields.
    between: &'static [u8],
    /// Before the first item of a non-empty list, and between two items.
    first_item: &'static [u8],
    next_item: &'static [u8],
    /// After the last item of a non-empty list (an empty one is `[]`).
    list_close: &'static [u8],
    close: &'static [u8],
    /// The canonical body, which `plan_id` is over, leaves `plan_id` out.
    with_plan_id: bool,
}

/// The file: one top-level key per line, list items one per line.
const FILE_TEXT: Layout = Layout {
    open: b"{\n",
    indent: b"  ",
    colon: b": ",
    between: b",\n",
    first_item: b"[\n    ",
    next_item: b",\n    ",
    list_close: b"\n  ]",
    close: b"\n}\n",
    with_plan_id: true,
};

/// The compact canonical form of the body (every field but `plan_id`): what
/// `canonical_compact` gives for the whole, written part by part.
const CANONICAL_BODY: Layout = Layout {
    open: b"{",
    indent: b"",
    colon: b":",
    between: b",",
    first_item: b"[",
    next_item: b",",
    list_close: b"]",
    close: b"}",
    with_plan_id: false,
};

fn write_fields(
    fields: &[(String, TopLevel<'_>)],
    layout: &Layout,
    out: &mut impl Write,
    seen: &mut dyn FnMut(&str, Option<usize>, &Value),
) -> std::io::Result<()> {
    out.write_all(layout.open)?;
    let shown = fields
        .iter()
        .filter(|(key, _)| layout.with_plan_id || key != "plan_id");
    for (i, (key, value)) in shown.enumerate() {
        if i > 0 {
            out.write_all(layout.between)?;
        }
        out.write_all(layout.indent)?;
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(layout.colon)?;
        let list = value.is_list();
        if list {
            // The list itself, then its items one by one.
            seen(key, None, &Value::Array(Vec::new()));
        }
        value
            .each(|index, item| {
                if list {
                    out.write_all(match index {
                        0 => layout.first_item,
                        _ => layout.next_item,
                    })?;
                }
                seen(key, list.then_some(index), item);
                Ok(serde_json::to_writer(&mut *out, item)?)
            })
            .map_err(|e| std::io::Error::new(e.kind(), format!("`{key}`: {e}")))?;
        if list {
            out.write_all(match value.is_empty_list() {
                true => b"[]",
                false => layout.list_close,
            })?;
        }
    }
    out.write_all(layout.close)
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
    fn is_empty_list(&self) -> bool {
        match self {
            TopLevel::Actions(actions) => actions.is_empty(),
            TopLevel::Value(value) => value.as_array().is_some_and(Vec::is_empty),
            TopLevel::Raw(raw) => {
                serde_json::from_str::<Vec<&RawValue>>(raw.get()).is_ok_and(|v| v.is_empty())
            }
        }
    }

    fn is_list(&self) -> bool {
        match self {
            TopLevel::Actions(_) | TopLevel::Value(Value::Array(_)) => true,
            TopLevel::Value(_) => false,
            TopLevel::Raw(raw) => raw.get().trim_start().starts_with('['),
        }
    }

    /// Calls `f` with each list item and its index (or with the value itself,
    /// if not a list).
    fn each(&self, mut f: impl FnMut(usize, &Value) -> std::io::Result<()>) -> std::io::Result<()> {
        let item = |index: usize, raw: &RawValue| {
            serde_json::from_str::<Value>(raw.get()).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("item {}: {e}", index + 1),
                )
            })
        };
        match self {
            TopLevel::Actions(actions) => actions.iter().enumerate().try_for_each(|(i, a)| {
                f(
                    i,
                    &serde_json::to_value(a).expect("an action always serialises"),
                )
            }),
            TopLevel::Value(Value::Array(items)) => {
                items.iter().enumerate().try_for_each(|(i, v)| f(i, v))
            }
            TopLevel::Value(value) => f(0, value),
            TopLevel::Raw(raw) if self.is_list() => {
                let items: Vec<&RawValue> = serde_json::from_str(raw.get())?;
                items
                    .into_iter()
                    .enumerate()
                    .try_for_each(|(i, raw)| f(i, &item(i, raw)?))
            }
            TopLevel::Raw(raw) => f(0, &serde_json::from_str(raw.get())?),
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

pub fn write(plan: &Plan, path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    // Write beside and rename, so a crash never leaves half a plan; a
    // failed write (a full disk) leaves nothing behind.
    let tmp = path.with_extension("json.tmp");
    let written = std::fs::File::create(&tmp).and_then(|file| {
        let mut file = std::io::BufWriter::new(file);
        write_file_text(plan, &mut file)?;
        file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
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
    // The plan is built from the very values hashed, so that it is what the
    // `plan_id` covers: a key given twice counts once, in both.
    let mut read = ReadPlan::default();
    let actual = body_digest(&fields, &mut |key, index, value| {
        read.add(key, index, value)
    })
    .map_err(|e| PlanFileError::Json {
        path: path.to_path_buf(),
        message: crate::display::text(&e.to_string()).into_owned(),
    })?;
    if recorded != actual {
        return Err(PlanFileError::Tampered {
            path: path.to_path_buf(),
            recorded: crate::display::text(&recorded).into_owned(),
            actual,
        });
    }
    read.into_plan(recorded)
        .map_err(|message| PlanFileError::Shape {
            path: path.to_path_buf(),
            message: crate::display::text(&message).into_owned(),
        })
}

/// A plan file's values as they are hashed: the actions read one by one,
/// everything else kept as JSON until the whole is read.
#[derive(Default)]
struct ReadPlan {
    head: serde_json::Map<String, Value>,
    actions: Vec<Action>,
    /// The first action that does not read, named.
    broken: Option<String>,
}

impl ReadPlan {
    fn add(&mut self, key: &str, index: Option<usize>, value: &Value) {
        match (key, index) {
            ("actions", Some(index)) => match Action::deserialize(value) {
                Ok(action) => self.actions.push(action),
                Err(e) => {
                    self.broken
                        .get_or_insert_with(|| broken_action(index, value, e));
                }
            },
            (_, Some(_)) => {
                if let Some(Value::Array(items)) = self.head.get_mut(key) {
                    items.push(value.clone());
                }
            }
            (_, None) => {
                self.head.insert(key.to_string(), value.clone());
            }
        }
    }

    /// The plan, or serde's message (for an action: which one).
    fn into_plan(mut self, plan_id: String) -> Result<Plan, String> {
        if let Some(broken) = self.broken {
            return Err(broken);
        }
        self.head.insert("plan_id".into(), Value::String(plan_id));
        let mut plan = Plan::deserialize(&Value::Object(self.head)).map_err(|e| e.to_string())?;
        plan.actions = self.actions;
        Ok(plan)
    }
}

/// serde's message for an action that does not read, with which action it
/// is: serde alone says only that some `source` matched no kind of source.
fn broken_action(index: usize, action: &Value, error: serde_json::Error) -> String {
    let field = |name: &str| action.get(name).and_then(Value::as_str).unwrap_or("?");
    format!(
        "action {} (`{} {}/{}`): {error}",
        index + 1,
        field("action"),
        field("distro_version"),
        field("filename")
    )
}
