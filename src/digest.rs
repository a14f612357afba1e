//! Digests as plans record them (`blake3:<hex>`), over canonical JSON or over
//! sorted lines. The ground floor: the config's digest and the plan's id both
//! come from here, so neither module needs the other.

use serde_json::Value;

/// `blake3:<hex>` of `text`.
pub fn digest(text: &str) -> String {
    format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex())
}

/// Digest over lines, sorted first so the input order never matters:
/// `digest` of every line and a newline, in sorted order.
///
/// `lines` gives the lines afresh on each call. They usually come sorted
/// already (from a map ordered by the same key), and are then hashed as they
/// come, without holding them (a plan of 40,000 files would otherwise hold
/// them all); only lines out of order are collected and sorted, in a second pass.
pub fn fingerprint_lines<I: Iterator<Item = String>>(lines: impl Fn() -> I) -> String {
    let mut hasher = blake3::Hasher::new();
    let mut previous: Option<String> = None;
    for line in lines() {
        if previous.as_ref().is_some_and(|p| *p > line) {
            let mut sorted: Vec<String> = lines().collect();
            sorted.sort();
            return digest(&(sorted.join("\n") + "\n"));
        }
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
        previous = Some(line);
    }
    format!("blake3:{}", hasher.finalize().to_hex())
}

/// Compact JSON with sorted keys (serde_json's maps are sorted).
pub fn canonical_compact(value: &Value) -> String {
    serde_json::to_string(value).expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_the_digest_of_the_sorted_lines_in_any_order() {
        const SORTED: [&str; 3] = ["a\t1", "a\t2", "b\t1"];
        let expected = digest("a\t1\na\t2\nb\t1\n");
        let given = |lines: &'static [&'static str]| {
            fingerprint_lines(move || lines.iter().map(|l| l.to_string()))
        };
        assert_eq!(given(&SORTED), expected);
        assert_eq!(given(&["b\t1", "a\t1", "a\t2"]), expected);
        assert_eq!(given(&["a\t1", "b\t1", "a\t2"]), expected);
        assert_eq!(given(&[]), digest(""));
    }
}
