//! build.xml's word "arch" names a build *target*: the directory
//! `repos/<repo>/<target>/` whose rpms carry rpm arches, not always the same
//! word. `ia32` holds `i586`/`i686` (and `noarch`) rpms, `armv7l` may hold
//! `armv7l` or `armv7hl`. Both directions are needed: a filter or a mapping
//! key may name either word (`i686` selects the `ia32` target: [`names`]), and the
//! rpm arches listed are what a `distro/version` covers.
//!
//! | target | rpm arches inside (besides `noarch`, `src`) |
//! |---|---|
//! | `ia32` | `i386`, `i486`, `i586`, `i686` |
//! | `armv7l` | `armv7l`, `armv7hl`, `armv7nhl` |
//! | `armv7hl` | `armv7hl` |
//! | `armv7el` | `armv7el` |
//! | `aarch64` | `aarch64` |
//! | `x86_64` | `x86_64` |
//! | `riscv64` | `riscv64` |
//!
//! A target not in the table is taken to name its own rpm arch.

const TARGETS: &[(&str, &[&str])] = &[
    ("ia32", &["i386", "i486", "i586", "i686"]),
    ("armv7l", &["armv7l", "armv7hl", "armv7nhl"]),
    ("armv7hl", &["armv7hl"]),
    ("armv7el", &["armv7el"]),
    ("aarch64", &["aarch64"]),
    ("x86_64", &["x86_64"]),
    ("riscv64", &["riscv64"]),
];

/// The rpm arches a target's directory holds (besides arch-independent ones).
pub fn rpm_arches(target: &str) -> Vec<&str> {
    match TARGETS.iter().find(|(t, _)| *t == target) {
        Some((_, arches)) => arches.to_vec(),
        None => vec![target],
    }
}

/// Every word that names `target`: itself and its rpm arches, for filters.
pub fn names(target: &str) -> Vec<&str> {
    let mut names = vec![target];
    names.extend(rpm_arches(target).into_iter().filter(|a| *a != target));
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_rpm_arches_map_both_ways() {
        assert_eq!(rpm_arches("ia32"), ["i386", "i486", "i586", "i686"]);
        assert_eq!(rpm_arches("ppc64le"), ["ppc64le"]);
        assert!(
            names("ia32").contains(&"i686"),
            "an rpm arch names its target"
        );
        assert_eq!(names("x86_64"), ["x86_64"]);
        assert_eq!(names("armv7l"), ["armv7l", "armv7hl", "armv7nhl"]);
        for (target, arches) in TARGETS {
            for arch in *arches {
                assert!(names(target).contains(arch));
            }
        }
    }
}
