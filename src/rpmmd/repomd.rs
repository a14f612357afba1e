//! `repodata/repomd.xml`: the index of an rpm-md repository. Only what pkgsync
//! needs is read: the revision and the `primary` entry (where it is, its size
//! and checksum).

use quick_xml::events::Event;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RepomdError {
    #[error("not well-formed XML: {0}")]
    Xml(String),
    #[error("it names no `primary` data")]
    NoPrimary,
    #[error("its `primary` entry lacks {0}")]
    Incomplete(&'static str),
}

/// The parts of repomd.xml a plan relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repomd {
    pub revision: Option<String>,
    pub primary: DataFile,
}

/// One `<data>` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataFile {
    /// `location@href`, relative to `location@xml:base` when that is given, else
    /// to the repository's base URL.
    pub href: String,
    pub base: Option<String>,
    /// `(type, hex)` of the file as stored (compressed).
    pub checksum: (String, String),
    pub size: Option<u64>,
    /// Size once decompressed, when listed: a bound for reading it.
    pub open_size: Option<u64>,
}

pub fn parse(xml: &str) -> Result<Repomd, RepomdError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let xml_error = |e: quick_xml::Error| RepomdError::Xml(e.to_string());
    let mut revision = None;
    let mut primary: Option<DataFile> = None;
    let mut in_primary = false;
    let mut current: Option<DataFile> = None;
    let mut path: Vec<String> = Vec::new();
    let mut checksum_type = String::new();
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "data" {
                    in_primary = attribute(&e, "type").as_deref() == Some("primary");
                    current = in_primary.then(DataFile::default);
                }
                if name == "checksum" {
                    checksum_type = attribute(&e, "type").unwrap_or_default();
                }
                if name == "location"
                    && let Some(file) = current.as_mut()
                {
                    location(&e, file);
                }
                path.push(name);
            }
            Event::Empty(e) => {
                let name = e.local_name();
                if name.as_ref() == b"location"
                    && let Some(file) = current.as_mut()
                {
                    location(&e, file);
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| RepomdError::Xml(e.to_string()))?;
                let text = text.trim();
                match (path.last().map(String::as_str), current.as_mut()) {
                    (Some("revision"), _) if path.len() == 2 => revision = Some(text.to_string()),
                    (Some("checksum"), Some(file)) => {
                        file.checksum = (
                            checksum_type.to_ascii_lowercase(),
                            text.to_ascii_lowercase(),
                        )
                    }
                    (Some("size"), Some(file)) => file.size = text.parse().ok(),
                    (Some("open-size"), Some(file)) => file.open_size = text.parse().ok(),
                    _ => {}
                }
            }
            Event::End(_) => {
                let closed = path.pop();
                if closed.as_deref() == Some("data") && in_primary {
                    primary = current.take();
                    in_primary = false;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let primary = primary.ok_or(RepomdError::NoPrimary)?;
    if primary.href.is_empty() {
        return Err(RepomdError::Incomplete("a `location`"));
    }
    if primary.checksum.1.is_empty() {
        return Err(RepomdError::Incomplete("a `checksum`"));
    }
    Ok(Repomd { revision, primary })
}

fn location(e: &quick_xml::events::BytesStart<'_>, file: &mut DataFile) {
    file.href = attribute(e, "href").unwrap_or_default();
    file.base = attribute(e, "base");
}

/// An attribute's unescaped value by its local name (`xml:base` → `base`).
pub fn attribute(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_primary_entry_of_real_publisher_output() {
        let xml = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/rpm-md/obs-published/repodata/repomd.xml"
        ))
        .unwrap();
        let repomd = parse(&xml).unwrap();
        assert_eq!(repomd.revision.as_deref(), Some("1795235506"));
        assert_eq!(
            repomd.primary.href,
            "repodata/b50e5c6e1ea8876d6a6d4f26f1ebc38c8bc9eea0a1dd5d4a4cc0c7134135c2da-primary.xml.gz"
        );
        assert_eq!(
            repomd.primary.checksum,
            (
                "sha256".to_string(),
                "b50e5c6e1ea8876d6a6d4f26f1ebc38c8bc9eea0a1dd5d4a4cc0c7134135c2da".to_string()
            )
        );
        assert_eq!(repomd.primary.size, Some(2065));
        assert_eq!(repomd.primary.open_size, Some(17577));
    }

    #[test]
    fn refuses_an_index_without_primary() {
        let xml = r#"<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision></repomd>"#;
        assert_eq!(parse(xml), Err(RepomdError::NoPrimary));
        assert!(matches!(parse("<repomd><data"), Err(RepomdError::Xml(_))));
    }
}
