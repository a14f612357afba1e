//! The module layering ARCHITECTURE.md draws, checked on the sources: each
//! module of the product crate may name only the modules listed for it here
//! (`crate::<module>` in a `use` or a path). The ground floor imports nothing;
//! `config` does not know the plan; the planner does no I/O (no HTTP, no source,
//! no target); sources and the target do not know each other, but for the
//! promotion source, which reads a Packagecloud repository with its client.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module → the modules it may import. Modules not listed (the commands at the
/// top: `cli`, `commands`, `check`, `init`, `demo`, `manuals`, `exit`, `lib`)
/// may import anything.
const ALLOWED: &[(&str, &[&str])] = &[
    ("display", &[]),
    ("secret", &[]),
    ("digest", &[]),
    ("checksum", &[]),
    ("http", &["checksum", "display", "secret"]),
    ("oscrc", &["secret"]),
    ("keyring", &[]),
    (
        "config",
        &[
            "digest", "display", "http", "keyring", "model", "oscrc", "secret",
        ],
    ),
    ("model", &["checksum", "display"]),
    (
        "plan",
        &["checksum", "config", "digest", "display", "model"],
    ),
    ("packagecloud", &["config", "display", "http", "model"]),
    // The target interface over its one kind, a Packagecloud repository.
    ("target", &["config", "http", "model", "packagecloud"]),
    // The interface names each source; each source uses the interface's types.
    ("metadata", &["checksum", "display", "http"]),
    (
        "source",
        &[
            "checksum",
            "config",
            "deb",
            "display",
            "gbs",
            "http",
            "model",
            "obs",
            "plan",
            "promotion",
            "rpmmd",
        ],
    ),
    // A GBS tree is rpm-md repositories: it reads them with `rpmmd`'s reader.
    (
        "gbs",
        &[
            "config", "display", "http", "model", "plan", "rpmmd", "source",
        ],
    ),
    // A Packagecloud repository as a source reads it through the target's client.
    (
        "promotion",
        &[
            "checksum",
            "config",
            "display",
            "http",
            "model",
            "packagecloud",
            "plan",
            "source",
        ],
    ),
    (
        "deb",
        &[
            "checksum", "config", "display", "http", "metadata", "model", "plan", "source",
        ],
    ),
    (
        "obs",
        &[
            "checksum", "config", "display", "http", "model", "plan", "source",
        ],
    ),
    (
        "rpmmd",
        &[
            "checksum", "config", "display", "http", "metadata", "model", "plan", "source",
        ],
    ),
    (
        "observe",
        &[
            "config",
            "model",
            "packagecloud",
            "plan",
            "source",
            "target",
        ],
    ),
    (
        "apply",
        &[
            "checksum",
            "config",
            "display",
            "http",
            "model",
            "observe",
            "packagecloud",
            "plan",
            "promotion",
            "source",
            "target",
        ],
    ),
];

/// Every `crate::<module>` a module's files name, by module.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap();
            let module = relative
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            let names = found.entry(module.clone()).or_default();
            for (i, _) in text.match_indices("crate::") {
                // `crate::` preceded by a letter is another crate's path.
                if text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &text[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    names.insert(name);
                }
            }
        }
    }
    found
}

#[test]
fn modules_import_only_what_their_layer_allows() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut violations = Vec::new();
    for (module, names) in imports() {
        let Some(may) = allowed.get(module.as_str()) else {
            continue;
        };
        for name in names {
            if !may.contains(&name.as_str()) {
                violations.push(format!("`{module}` imports `{name}`"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports across the layering (see ARCHITECTURE.md):\n  {}",
        violations.join("\n  ")
    );
}

#[test]
fn the_layering_is_checked_against_real_imports() {
    // The check itself must see imports, or it would pass on anything.
    let imports = imports();
    assert!(imports["plan"].contains("config"));
    assert!(imports["apply"].contains("source"));
}
