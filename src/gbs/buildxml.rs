//! `builddata/build.xml`: what a GBS snapshot is. Two forms exist and both
//! are read:
//! - legacy: `<archs><arch>`, `<repos><repo>`, `<buildconf>NAME</buildconf>`,
//!   `<id>`: every repo is built for every arch;
//! - newer (GBS's builddata module): `<buildtargets><buildtarget name=REPO>`
//!   each with its `<arch>`s and `<buildconf><location href=…/>`, beside
//!   `<id>`, `<repos>` and `<archs>`: a target's archs are its own; a repo
//!   without a target has the global archs.
//!
//! Only names that are safe path components are accepted: they become parts
//! of URLs below the tree.

use crate::rpmmd::repomd::attribute;
use quick_xml::events::{BytesStart, Event};
use std::collections::BTreeMap;

/// The parts of build.xml a plan relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildXml {
    /// `<id>`: names the build; `latest/` names another one tomorrow.
    pub id: String,
    /// Each repo with the build.xml archs (targets: `ia32`, `armv7l`, ...)
    /// it is built for, sorted.
    pub repos: BTreeMap<String, Vec<String>>,
    /// The build config file named, when named.
    pub buildconf: Option<String>,
}

#[derive(Default)]
struct Parts {
    id: Option<String>,
    repos: Vec<String>,
    archs: Vec<String>,
    targets: BTreeMap<String, Vec<String>>,
    buildconf: Option<String>,
}

pub fn parse(xml: &str) -> Result<BuildXml, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut parts = Parts::default();
    let mut path: Vec<String> = Vec::new();
    let mut target: Option<String> = None;
    // An element's text, its entities resolved, taken whole at its end tag
    // (a reference splits it into several events).
    let mut text = String::new();
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("not well-formed XML: {e}"))?
        {
            Event::Start(e) => {
                let name = local_name(&e);
                element(&e, &name, &path, &mut parts, &mut target)?;
                path.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                let name = local_name(&e);
                element(&e, &name, &path, &mut parts, &mut target)?;
            }
            Event::End(_) => {
                let value_text = text.trim();
                if !value_text.is_empty() {
                    value(&path, value_text, &mut parts, target.as_deref())?;
                }
                text.clear();
                if path.pop().as_deref() == Some("buildtarget") {
                    target = None;
                }
            }
            Event::Text(t) => {
                text.push_str(&t.decode().map_err(|e| format!("not valid text: {e}"))?);
            }
            Event::GeneralRef(r) => text.push(reference(&r)?),
            Event::Eof => break,
            _ => {}
        }
    }
    finish(parts)
}

/// `&amp;` and the other predefined entities, and character references.
fn reference(r: &quick_xml::events::BytesRef<'_>) -> Result<char, String> {
    if let Some(c) = r
        .resolve_char_ref()
        .map_err(|e| format!("not valid text: {e}"))?
    {
        return Ok(c);
    }
    let name = String::from_utf8_lossy(r);
    quick_xml::escape::resolve_predefined_entity(&name)
        .and_then(|c| c.chars().next())
        .ok_or_else(|| {
            format!(
                "it uses the unknown entity `&{};`",
                crate::display::text(&name)
            )
        })
}

fn local_name(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

/// An opening tag: a build target begins, or a build config's location.
fn element(
    e: &BytesStart<'_>,
    name: &str,
    path: &[String],
    parts: &mut Parts,
    target: &mut Option<String>,
) -> Result<(), String> {
    if name == "buildtarget" {
        let repo = attribute(e, "name").ok_or("a `<buildtarget>` has no `name`")?;
        let repo = safe(&repo, "buildtarget name")?;
        parts.targets.entry(repo.clone()).or_default();
        *target = Some(repo);
    }
    if name == "location" && path.last().map(String::as_str) == Some("buildconf") {
        parts.buildconf = attribute(e, "href");
    }
    Ok(())
}

/// A text value, by where it stands.
fn value(
    path: &[String],
    text: &str,
    parts: &mut Parts,
    target: Option<&str>,
) -> Result<(), String> {
    let names: Vec<&str> = path.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["build", "id"] => {
            if let Some(first) = parts.id.as_deref()
                && first != text
            {
                return Err(format!(
                    "it names two build ids, `{}` and {:?}; refused",
                    crate::display::text(first),
                    crate::display::text(text)
                ));
            }
            parts.id = Some(text.to_string());
        }
        ["build", "repos", "repo"] => parts.repos.push(safe(text, "repo")?),
        ["build", "archs", "arch"] => parts.archs.push(safe(text, "arch")?),
        ["build", "buildconf"] => parts.buildconf = Some(text.to_string()),
        ["build", "buildtargets", "buildtarget", "arch"] => {
            let repo = target.expect("inside a build target");
            let arch = safe(text, "arch")?;
            parts
                .targets
                .entry(repo.to_string())
                .or_default()
                .push(arch);
        }
        _ => {}
    }
    Ok(())
}

fn finish(parts: Parts) -> Result<BuildXml, String> {
    let id = parts.id.ok_or("it names no build `<id>`")?;
    if !is_build_id(&id) {
        return Err(format!(
            "its `<id>` {:?} is not a build id (letters, digits, `.`, `_`, `-`, `+`, `~`, `:`)",
            crate::display::text(&id)
        ));
    }
    let mut repos: BTreeMap<String, Vec<String>> = parts.targets;
    for repo in parts.repos {
        repos.entry(repo).or_insert_with(|| parts.archs.clone());
    }
    for (repo, archs) in &mut repos {
        archs.sort();
        archs.dedup();
        if archs.is_empty() {
            return Err(format!("repo `{repo}` has no arch"));
        }
    }
    if repos.is_empty() {
        return Err("it names no repo".to_string());
    }
    Ok(BuildXml {
        id,
        repos,
        buildconf: parts.buildconf,
    })
}

/// A name that becomes a path component below the tree.
fn safe(name: &str, what: &str) -> Result<String, String> {
    crate::source::safe_component(FILE, what, name)?;
    Ok(name.to_string())
}

const FILE: &str = "builddata/build.xml";

/// A plain token, as GBS makes them (`tizen-2.0_20120926.2`): it names the
/// build in plans and messages, so nothing that could hide or forge text.
fn is_build_id(id: &str) -> bool {
    crate::source::unsafe_component(id).is_none()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+~:".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_legacy_form() {
        let xml = "<build>\n  <archs>\n    <arch>ia32</arch>\n    <arch>armv7l</arch>\n  </archs>\n  <repos>\n    <repo>tizen-base</repo>\n    <repo>tizen-main</repo>\n  </repos>\n  <buildconf>a300db37f667-build.conf</buildconf>\n  <id>tizen-2.0_20120926.2</id>\n</build>\n";
        let build = parse(xml).unwrap();
        assert_eq!(build.id, "tizen-2.0_20120926.2");
        assert_eq!(build.buildconf.as_deref(), Some("a300db37f667-build.conf"));
        let archs = vec!["armv7l".to_string(), "ia32".to_string()];
        assert_eq!(build.repos["tizen-base"], archs);
        assert_eq!(build.repos["tizen-main"], archs);
    }

    #[test]
    fn reads_the_newer_form_with_per_target_archs() {
        let xml = r#"<build version="1.0">
  <id>tizen_20130403.3</id>
  <repos><repo>standard</repo><repo>emulator</repo></repos>
  <archs><arch>ia32</arch></archs>
  <buildtargets>
    <buildtarget name="standard">
      <buildconf>
        <location href="abc-build.conf"/>
        <checksum type="sha256">abc</checksum>
      </buildconf>
      <arch default="yes">ia32</arch>
      <arch>x86_64</arch>
    </buildtarget>
  </buildtargets>
</build>"#;
        let build = parse(xml).unwrap();
        assert_eq!(build.id, "tizen_20130403.3");
        assert_eq!(build.buildconf.as_deref(), Some("abc-build.conf"));
        assert_eq!(build.repos["standard"], ["ia32", "x86_64"]);
        assert_eq!(build.repos["emulator"], ["ia32"]);
    }

    #[test]
    fn refuses_what_cannot_be_a_tree() {
        assert!(
            parse("<build><repos><repo>a</repo></repos><archs><arch>x</arch></archs></build>")
                .unwrap_err()
                .contains("<id>")
        );
        assert!(
            parse("<build><id>1</id><repos><repo>../x</repo></repos></build>")
                .unwrap_err()
                .contains("not a plain name")
        );
        assert!(
            parse("<build><id>1</id><repos><repo>a</repo></repos></build>")
                .unwrap_err()
                .contains("no arch")
        );
        assert!(
            parse("<build><id>1</id></build>")
                .unwrap_err()
                .contains("no repo")
        );
        assert!(parse("<build><id>1</id>").is_err());
    }

    const ONE_REPO: &str = "<repos><repo>a</repo></repos><archs><arch>x</arch></archs>";

    #[test]
    fn an_id_must_be_one_plain_token() {
        let forged = format!("<build><id>B1&#27;[2K&#13;forged</id>{ONE_REPO}</build>");
        let error = parse(&forged).unwrap_err();
        assert!(error.contains("not a build id"), "{error}");
        assert!(
            !error.contains('\u{1b}') && !error.contains('\r'),
            "{error:?}"
        );
        let two = format!("<build><id>b1</id>{ONE_REPO}<id>b2</id></build>");
        assert!(parse(&two).unwrap_err().contains("two build ids"));
        let same_twice = format!("<build><id>b1</id>{ONE_REPO}<id>b1</id></build>");
        assert_eq!(parse(&same_twice).unwrap().id, "b1");
        let amp = format!("<build><id>a&amp;b</id>{ONE_REPO}</build>");
        assert!(parse(&amp).is_err());
    }

    #[test]
    fn names_are_checked_after_decoding() {
        for (repo, arch) in [
            ("%2e%2e%2f%2e%2e%2fetc", "x"),
            ("a", "%2e%2e%2f"),
            ("&#46;&#46;", "x"),
            ("a&#47;b", "x"),
        ] {
            let xml = format!(
                "<build><id>1</id><repos><repo>{repo}</repo></repos><archs><arch>{arch}</arch></archs></build>"
            );
            let error = parse(&xml).unwrap_err();
            assert!(error.contains("not a plain name"), "{xml}: {error}");
        }
    }
}
