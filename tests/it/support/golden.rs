//! Plans kept byte for byte as recorded in `tests/fixtures/plans/`. Only what
//! must differ between runs is normalised: the servers' URLs (their ports are
//! ephemeral) and the two digests computed over them (`config_digest` covers
//! the config's URLs, `plan_id` every byte).

use std::path::Path;

/// `plan` with each `(url, placeholder)` replaced and the digest lines blanked.
pub fn normalise(plan: &str, urls: &[(&str, &str)]) -> String {
    let replaced = urls
        .iter()
        .fold(plan.to_string(), |text, (url, placeholder)| {
            text.replace(url, placeholder)
        });
    replaced
        .lines()
        .map(|line| {
            let digest = ["\"plan_id\":", "\"config_digest\":"]
                .into_iter()
                .find(|field| line.trim_start().starts_with(field));
            match digest {
                Some(field) => format!("  {field} \"(digest)\","),
                None => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts that `normalised` is `tests/fixtures/plans/<name>` byte for byte,
/// showing the difference. `PKGSYNC_RECORD_PLAN=1` writes it first, for a
/// deliberate change (the fixture's README says how each was recorded).
#[track_caller]
pub fn assert_recorded(normalised: &str, name: &str) {
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/plans")
        .join(name);
    if std::env::var_os("PKGSYNC_RECORD_PLAN").is_some() {
        std::fs::create_dir_all(recorded.parent().unwrap()).unwrap();
        std::fs::write(&recorded, normalised).unwrap();
    }
    let expected = std::fs::read_to_string(&recorded)
        .unwrap_or_else(|e| panic!("{}: {e}", recorded.display()));
    assert!(
        normalised == expected,
        "the plan differs from {}:\n{}",
        recorded.display(),
        similar::TextDiff::from_lines(expected.as_str(), normalised).unified_diff()
    );
}
