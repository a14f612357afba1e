//! The XML documents pkgsync reads from OBS, as serde types for quick-xml.
//! Unknown elements and attributes are ignored: OBS adds them over time.

use serde::Deserialize;

/// `GET /source/<project>/_meta`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProjectMeta {
    #[serde(rename = "@name")]
    pub name: String,
    #[serde(rename = "repository", default)]
    pub repositories: Vec<RepositoryMeta>,
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
    #[serde(rename = "binary", default)]
    pub binaries: Vec<Binary>,
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

pub fn parse<T: serde::de::DeserializeOwned>(xml: &str) -> Result<T, quick_xml::DeError> {
    quick_xml::de::from_str(xml)
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
}
