//! Digests as plans record them (`blake3:<hex>`), over canonical JSON or over
//! sorted lines. The ground floor: the config's digest and the plan's id both
//! come from here, so neither module needs the other.

use serde_json::Value;

/// `blake3:<hex>` of `text`.
pub fn digest(text: &str) -> String {
    format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex())
}

/// Digest over lines, sorted first so the input order never matters.
pub fn fingerprint_lines(lines: impl Iterator<Item = String>) -> String {
    let mut lines: Vec<String> = lines.collect();
    lines.sort();
    let mut text = String::new();
    for line in lines {
        text.push_str(&line);
        text.push('\n');
    }
    digest(&text)
}

/// Compact JSON with sorted keys (serde_json's maps are sorted).
pub fn canonical_compact(value: &Value) -> String {
    serde_json::to_string(value).expect("a JSON value always serialises")
}
