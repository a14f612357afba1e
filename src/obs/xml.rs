//! The XML documents pkgsync reads from OBS, as serde types for quick-xml.
//! Unknown elements and attributes are ignored: OBS adds them over time.
//!
//! quick-xml's deserializer ignores the name of the root element and anything after
//! it, so an HTML page from a proxy would read as an empty `<resultlist>`: an empty
//! inventory. [`parse`] therefore first checks that the answer is one whole element
//! of the expected name, and nothing else.

use quick_xml::events::Event;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A document type and the name of its root element.
pub trait Document: DeserializeOwned {
    const ROOT: &'static str;
}

/// `GET /source/<project>/_meta`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProjectMeta {
    #[serde(rename = "@name")]
    pub name: String,
    #[serde(rename = "repository", default)]
    pub repositories: Vec<RepositoryMeta>,
}

impl Document for ProjectMeta {
    const ROOT: &'static str = "project";
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RepositoryMeta {
    #[serde(rename = "@name")]
    pub name: String,
    #[serde(rename = "arch", default)]
    pub archs: Vec<String>,
}

/// `GET /build/<project>/_result?view=binarylist&view=status`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ResultList {
    #[serde(rename = "@state", default)]
    pub state: Option<String>,
    #[serde(rename = "result", default)]
    pub results: Vec<RepositoryResult>,
}

impl Document for ResultList {
    const ROOT: &'static str = "resultlist";
}

/// One repository × arch of a `_result`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct RepositoryResult {
    #[serde(rename = "@project")]
    pub project: String,
    #[serde(rename = "@repository")]
    pub repository: String,
    #[serde(rename = "@arch")]
    pub arch: String,
    #[serde(rename = "@code", default)]
    pub code: Option<String>,
    #[serde(rename = "@state", default)]
    pub state: Option<String>,
    #[serde(rename = "@dirty", default)]
    pub dirty: Option<String>,
    #[serde(rename = "status", default)]
    pub statuses: Vec<PackageStatus>,
    #[serde(rename = "binarylist", default)]
    pub binarylists: Vec<BinaryList>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PackageStatus {
    #[serde(rename = "@package")]
    pub package: String,
    #[serde(rename = "@code")]
    pub code: String,
}

/// `<binarylist>`: inside a `_result` (with `package=`) or alone (per package).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct BinaryList {
    #[serde(rename = "@package", default)]
    pub package: Option<String>,
    #[serde(rename = "binary", default, deserialize_with = "packages_only")]
    pub binaries: Vec<Binary>,
}

/// A build area's binaries without what is never a package (logs, `_statistics`,
/// build environments: three in five entries of a typical area), so a large
/// `_result` is not held whole. Unsafe names stay, for discovery to refuse them.
fn packages_only<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Binary>, D::Error> {
    let mut binaries = Vec::<Binary>::deserialize(d)?;
    binaries.retain(keep_binary);
    binaries.shrink_to_fit();
    Ok(binaries)
}

/// A package file, or a name discovery must refuse.
pub fn keep_binary(b: &Binary) -> bool {
    !crate::model::is_safe_filename(&b.filename)
        || crate::model::classify_filename(&b.filename) != crate::model::FileClass::Other
}

impl Document for BinaryList {
    const ROOT: &'static str = "binarylist";
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Binary {
    #[serde(rename = "@filename")]
    pub filename: String,
    #[serde(rename = "@size")]
    pub size: u64,
    #[serde(rename = "@mtime")]
    pub mtime: u64,
    #[serde(rename = "@md5", default)]
    pub md5: Option<String>,
}

impl Binary {
    /// The listed md5 in lower case, if it is one (32 hex digits).
    pub fn valid_md5(&self) -> Option<String> {
        self.md5
            .as_deref()
            .filter(|m| m.len() == 32 && m.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase)
    }
}

/// An error answer, from the Rails front end (string codes) or the backend
/// (numeric codes).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Status {
    #[serde(rename = "@code", default)]
    pub code: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
}

impl Document for Status {
    const ROOT: &'static str = "status";
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the answer is empty")]
    Empty,
    #[error("the answer is not well-formed XML: {0}")]
    Syntax(#[from] quick_xml::Error),
    #[error("the answer is text, not XML")]
    NotXml,
    #[error("the answer is a `<{found}>` document, not `<{expected}>`")]
    WrongRoot {
        expected: &'static str,
        found: String,
    },
    #[error("the answer goes on after its `</{0}>`")]
    TrailingContent(&'static str),
    #[error("the `<{root}>` document does not fit its schema: {message}")]
    Field { root: &'static str, message: String },
    #[error("the `<{root}>` document does not fit its schema: {source}")]
    Schema {
        root: &'static str,
        #[source]
        source: quick_xml::DeError,
    },
}

/// Parses a whole document of type `T`: one root element named `T::ROOT`, closed,
/// and nothing after it but whitespace, comments and processing instructions.
pub fn parse<T: Document>(xml: &str) -> Result<T, ParseError> {
    check_outline(xml, T::ROOT)?;
    quick_xml::de::from_str(xml).map_err(|source| ParseError::Schema {
        root: T::ROOT,
        source,
    })
}

fn check_outline(xml: &str, root: &'static str) -> Result<(), ParseError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut depth = 0usize;
    let mut seen_root = false;
    loop {
        let event = reader.read_event()?;
        let top_level = depth == 0;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) if top_level => {
                if seen_root {
                    return Err(ParseError::TrailingContent(root));
                }
                let found = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if found != root {
                    return Err(ParseError::WrongRoot {
                        expected: root,
                        found,
                    });
                }
                seen_root = true;
                if matches!(event, Event::Start(_)) {
                    depth = 1;
                }
            }
            Event::Start(_) => depth += 1,
            Event::End(_) => depth -= 1,
            Event::Text(ref t) if top_level && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(if seen_root {
                    ParseError::TrailingContent(root)
                } else {
                    ParseError::NotXml
                });
            }
            Event::CData(_) | Event::GeneralRef(_) if top_level => {
                return Err(if seen_root {
                    ParseError::TrailingContent(root)
                } else {
                    ParseError::NotXml
                });
            }
            Event::Eof if depth > 0 => {
                // The reader reports unclosed elements itself; this is a fallback.
                return Err(ParseError::Syntax(quick_xml::Error::IllFormed(
                    quick_xml::errors::IllFormedError::MissingEndTag(root.to_string()),
                )));
            }
            Event::Eof if seen_root => return Ok(()),
            Event::Eof => return Err(ParseError::Empty),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/obs-responses/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn binary_lists_keep_packages_and_unsafe_names_only() {
        let list: BinaryList = parse(
            r#"<binarylist package="a">
                 <binary filename="a-1-1.x86_64.rpm" size="1" mtime="1"/>
                 <binary filename="a-debuginfo-1-1.x86_64.rpm" size="1" mtime="1"/>
                 <binary filename="_statistics" size="1" mtime="1"/>
                 <binary filename="rpmlint.log" size="1" mtime="1"/>
                 <binary filename="../evil" size="1" mtime="1"/>
               </binarylist>"#,
        )
        .unwrap();
        let names: Vec<&str> = list.binaries.iter().map(|b| b.filename.as_str()).collect();
        assert_eq!(
            names,
            ["a-1-1.x86_64.rpm", "a-debuginfo-1-1.x86_64.rpm", "../evil"]
        );
    }

    #[test]
    fn parses_real_project_meta() {
        let meta: ProjectMeta = parse(&reference("source-meta.xml")).unwrap();
        assert_eq!(meta.name, "home:demo");
        let repos: Vec<_> = meta
            .repositories
            .iter()
            .map(|r| (r.name.as_str(), r.archs.clone()))
            .collect();
        assert_eq!(
            repos,
            [
                (
                    "Fedora_39",
                    vec!["x86_64".to_string(), "aarch64".to_string()]
                ),
                (
                    "Debian_12",
                    vec!["x86_64".to_string(), "aarch64".to_string()]
                )
            ]
        );
    }

    #[test]
    fn parses_real_result_binarylist() {
        let list: ResultList = parse(&reference("result-binarylist.xml")).unwrap();
        assert_eq!(list.results.len(), 4);
        let fedora_x86 = &list.results[0];
        assert_eq!(
            (fedora_x86.repository.as_str(), fedora_x86.arch.as_str()),
            ("Fedora_39", "x86_64")
        );
        let hello = fedora_x86
            .binarylists
            .iter()
            .find(|b| b.package.as_deref() == Some("hello"))
            .unwrap();
        assert!(
            hello
                .binaries
                .iter()
                .any(|b| b.filename == "hello-1.0-1.1.x86_64.rpm"
                    && b.size == 6454
                    && b.mtime == 1795235505)
        );
        let broken = fedora_x86
            .binarylists
            .iter()
            .find(|b| b.package.as_deref() == Some("broken"))
            .unwrap();
        assert!(broken.binaries.is_empty());
    }

    #[test]
    fn parses_real_multibuild_result_with_status() {
        let list: ResultList = parse(&reference("result-multibuild.xml")).unwrap();
        let result = &list.results[0];
        let codes: Vec<_> = result
            .statuses
            .iter()
            .map(|s| (s.package.as_str(), s.code.as_str()))
            .collect();
        assert_eq!(codes, [("multi", "succeeded"), ("multi:nox", "succeeded")]);
        assert!(
            result
                .binarylists
                .iter()
                .any(|b| b.package.as_deref() == Some("multi:nox"))
        );
    }

    #[test]
    fn parses_md5_only_when_listed() {
        let with: BinaryList = parse(&reference("binarylist-withmd5.xml")).unwrap();
        assert!(
            with.binaries
                .iter()
                .all(|b| b.md5.as_deref().is_some_and(|m| m.len() == 32))
        );
        let without: BinaryList = parse(&reference("binarylist.xml")).unwrap();
        assert!(without.binaries.iter().all(|b| b.md5.is_none()));
        let empty: BinaryList = parse(&reference("binarylist-empty.xml")).unwrap();
        assert!(empty.binaries.is_empty());
    }

    #[test]
    fn parses_both_error_styles() {
        let backend: Status = parse(&reference("error-404-no-repo.xml")).unwrap();
        assert_eq!(backend.code.as_deref(), Some("404"));
        assert_eq!(
            backend.summary.as_deref(),
            Some("project 'home:demo' has no repository 'nosuchrepo'")
        );
        let rails: Status = parse(
            "<status code=\"authentication_required\">\n  <summary>Authentication required</summary>\n</status>\n",
        )
        .unwrap();
        assert_eq!(rails.code.as_deref(), Some("authentication_required"));
    }

    #[test]
    fn malformed_xml_is_an_error() {
        assert!(parse::<ResultList>("<resultlist><result project=").is_err());
        assert!(
            parse::<BinaryList>(
                "<binarylist><binary filename=\"a\" size=\"x\" mtime=\"1\"/></binarylist>"
            )
            .is_err()
        );
    }

    #[test]
    fn only_a_whole_document_of_the_expected_kind_is_accepted() {
        let reject = |xml: &str| parse::<ResultList>(xml).unwrap_err().to_string();
        assert_eq!(reject(""), "the answer is empty");
        assert_eq!(reject(" \n"), "the answer is empty");
        assert_eq!(reject("Service Unavailable"), "the answer is text, not XML");
        // A proxy's page would otherwise read as an empty result list.
        assert_eq!(
            reject("<html><body>maintenance</body></html>"),
            "the answer is a `<html>` document, not `<resultlist>`"
        );
        assert!(
            reject("<status code=\"404\"><summary>x</summary></status>").contains("`<status>`")
        );
        assert!(
            reject("<resultlist>\n  <result project=\"p\" repository=\"r\" arch=\"a\" />\n")
                .contains("well-formed")
        );
        assert!(reject("<resultlist/>\n<resultlist/>").contains("goes on after"));
        assert!(reject("<resultlist/>\ntrailing").contains("goes on after"));
        let ok: ResultList =
            parse("<?xml version=\"1.0\"?>\n<!-- c -->\n<resultlist state=\"s\" />\n").unwrap();
        assert_eq!(ok.state.as_deref(), Some("s"));
    }
}
