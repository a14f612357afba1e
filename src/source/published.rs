//! The rules the published-repository sources (`rpm-md:`, `deb:`, GBS trees)
//! share: a planned file against what the metadata lists now, and whether
//! the config still sends a repository's files to a key, and which package
//! locations are safe to fetch.

use super::{Download, Recheck};
use crate::checksum::{Algorithm, Checksum};
use crate::http::Auth;
use crate::model::{ArtifactKey, IndexRead};
use crate::plan::SourceExpectation;
use std::cmp::Ordering;

/// A planned file of a published repository against what its metadata lists
/// now (`(size, checksum)`, or nothing): the download, or why it moved.
pub fn recheck_published(
    url: &str,
    expect: &SourceExpectation,
    listed: Option<&(u64, Checksum)>,
) -> Recheck {
    let Some((size, checksum)) = listed else {
        return Err(format!("`{url}` is no longer listed"));
    };
    let planned = expect.listed(checksum.algorithm);
    let same = Some(*size) == expect.size
        && planned.is_some_and(|hex| hex.eq_ignore_ascii_case(&checksum.hex));
    if !same {
        let algorithm = checksum.algorithm;
        return Err(format!(
            "`{url}` changed in its repository ({}, {algorithm} {} when planned; {size} bytes, {algorithm} {} now)",
            crate::model::shown_size(expect.size),
            planned.unwrap_or("unknown"),
            checksum.hex,
        ));
    }
    // A sha256 file keeps the cache name it had before other checksums were read.
    let identity = match checksum.algorithm {
        Algorithm::Sha256 => format!("{url}\n{size}\n{}", checksum.hex),
        _ => format!("{url}\n{size}\n{checksum}"),
    };
    Ok(Download {
        url: url.to_string(),
        auth: Auth::None,
        label: url.to_string(),
        identity,
        size: *size,
        checksums: vec![checksum.clone()],
        promote_url: None,
    })
}

/// A published repository's file may go to `key` when the repository at
/// `url` is configured (`configured`: the `distro/version` it is sent to) and
/// that is `key`'s, as `canonical` names it.
pub fn admits_published(
    kind: &str,
    url: &str,
    configured: Option<&str>,
    key: &ArtifactKey,
    canonical: &dyn Fn(&str) -> String,
) -> Result<(), String> {
    let shown = crate::display::ShownUrl::new(url);
    let Some(distro_version) = configured else {
        return Err(format!("`{shown}` is not a configured {kind}"));
    };
    if canonical(distro_version) != key.distro_version {
        return Err(format!(
            "the config sends `{shown}` to `{distro_version}`, not `{}`",
            key.distro_version
        ));
    }
    Ok(())
}

/// The published repositories' indexes read now that are older than the
/// plan recorded them (a mirror rolled back, or an old, validly signed
/// Release or repomd.xml served again): one reason each. A Release is
/// ordered by its `Date`, a repomd.xml by a numeric `revision`; revisions
/// that cannot be ordered are not judged.
pub fn rolled_back(planned: &[IndexRead], now: &[IndexRead]) -> Vec<String> {
    let mut older = Vec::new();
    for read in now {
        let Some(before) = planned.iter().find(|p| p.url == read.url) else {
            continue;
        };
        let (Some(then), Some(current)) = (&before.revision, &read.revision) else {
            continue;
        };
        if revision_order(current, then) == Some(Ordering::Less) {
            older.push(format!(
                "`{}` is older than planned: `{}` now, `{}` when planned (a mirror rolled back, or an old index served again)",
                crate::display::ShownUrl::new(&read.url),
                crate::display::text(current),
                crate::display::text(then),
            ));
        }
    }
    older
}

/// Two revisions in time order: Release dates, else numbers.
fn revision_order(a: &str, b: &str) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (crate::deb::release_date(a), crate::deb::release_date(b)) {
        return Some(a.cmp(&b));
    }
    let number = |text: &str| text.trim().parse::<u64>().ok();
    Some(number(a)?.cmp(&number(b)?))
}

/// A package location (rpm-md's `location@href`, a Packages `Filename`)
/// that could leave the directory it is below, or mean something
/// else once in a URL: absolute, `.`/`..` segments, a backslash, a
/// percent-escape (`%2e%2e` is `..` once decoded), a query or a fragment.
pub fn unsafe_location(href: &str) -> bool {
    href.starts_with('/')
        || href.contains(['%', '\\', '?', '#'])
        || href.chars().any(char::is_control)
        || href
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// Why `name`, as its metadata gives it (already XML- or stanza-decoded,
/// and decoded no further), cannot be one path component or filename:
/// empty, a dot segment, `..`, `/`, a backslash, a control character, or `%` (which
/// a server may decode into any of those). `None` when it can.
pub fn unsafe_component(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name.contains("..") {
        Some("it holds a dot segment")
    } else if name.contains(['/', '\\']) {
        Some("it holds a path separator")
    } else if name.contains('%') {
        Some("it holds `%`, which a server may decode")
    } else if name.chars().any(char::is_control) {
        Some("it holds a control character")
    } else {
        None
    }
}

/// [`unsafe_component`] as an error naming the file, what the name is and
/// the name (escaped for display).
pub fn safe_component(file: &str, what: &str, name: &str) -> Result<(), String> {
    match unsafe_component(name) {
        None => Ok(()),
        Some(why) => Err(format!(
            "`{file}` names the {what} {:?}, which is not a plain name: {why}; refused",
            crate::display::text(name)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(url: &str, revision: &str) -> IndexRead {
        IndexRead {
            url: url.into(),
            digest: String::new(),
            revision: Some(revision.into()),
            valid_until: None,
        }
    }

    #[test]
    fn an_index_older_than_planned_is_a_rollback() {
        let planned = [
            read("http://a/InRelease", "Tue, 08 Dec 2026 08:00:00 UTC"),
            read("http://b/repomd.xml", "1795235506"),
            read("http://c/repomd.xml", "compose-2"),
        ];
        let now = [
            read("http://a/InRelease", "Mon, 07 Dec 2026 08:00:00 UTC"),
            read("http://b/repomd.xml", "1795235505"),
            read("http://c/repomd.xml", "compose-1"),
        ];
        let older = rolled_back(&planned, &now);
        assert_eq!(older.len(), 2, "{older:?}");
        assert!(older[0].contains(
            "`Mon, 07 Dec 2026 08:00:00 UTC` now, `Tue, 08 Dec 2026 08:00:00 UTC` when planned"
        ));
        assert!(rolled_back(&planned, &planned).is_empty());
        let newer = [read("http://a/InRelease", "Wed, 09 Dec 2026 08:00:00 UTC")];
        assert!(rolled_back(&planned, &newer).is_empty());
    }

    #[test]
    fn names_are_checked_as_decoded_path_components() {
        for bad in [
            "%2e%2e%2f%2e%2e%2fetc",
            "..",
            ".",
            "",
            "a/b",
            "a\\b",
            "a\u{1b}[2K",
            "a\rb",
        ] {
            assert!(unsafe_component(bad).is_some(), "{bad:?}");
        }
        for good in ["tizen-base", "x86_64", "hello_1.0-1+b2_amd64.deb", "a.b"] {
            assert_eq!(unsafe_component(good), None, "{good}");
        }
        let error = safe_component("builddata/build.xml", "repo", "%2e%2e%2fetc").unwrap_err();
        assert!(error.contains("builddata/build.xml") && error.contains("%2e%2e%2fetc"));
    }

    #[test]
    fn locations_that_could_leave_their_directory_are_unsafe() {
        for bad in [
            "%2e%2e/%2e%2e/outside/a-1-1.x86_64.rpm",
            "/etc/a-1-1.x86_64.rpm",
            "Packages/../../a-1-1.x86_64.rpm",
            "./a-1-1.x86_64.rpm",
            "Packages\\a-1-1.x86_64.rpm",
            "a-1-1.x86_64.rpm?x=1",
        ] {
            assert!(unsafe_location(bad), "{bad}");
        }
        assert!(!unsafe_location("Packages/a/a-1-1.x86_64.rpm"));
        assert!(!unsafe_location("c++-1-1.x86_64.rpm"));
    }
}
