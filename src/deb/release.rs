//! A Debian archive's `Release` (or the message of `InRelease`): what it says
//! about itself, and the size and sha256 of every index file it lists.

use super::stanza::{self, Stanza, StanzaError};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReleaseError {
    #[error("{0}")]
    Syntax(String),
    #[error("it lists no SHA256 checksums")]
    NoSha256,
    #[error("its SHA256 line {0:?} is not `<sha256> <size> <path>`")]
    BadLine(String),
    #[error("`InRelease` is not a clearsigned message")]
    NotClearsigned,
}

/// One index file the Release lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// Relative to the directory of the Release file.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub date: Option<String>,
    /// `Suite:` and `Codename:`, what the Release says it is (apt's
    /// "Conflicting distribution" compares them with the suite asked for).
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub files: Vec<IndexFile>,
}

impl Release {
    pub fn file(&self, path: &str) -> Option<&IndexFile> {
        self.files.iter().find(|f| f.path == path)
    }
}

pub fn parse(text: &str) -> Result<Release, ReleaseError> {
    let mut first: Option<Stanza> = None;
    stanza::read::<StanzaError>(text.as_bytes(), |s| {
        first.get_or_insert(s);
        Ok(())
    })
    .map_err(|e| ReleaseError::Syntax(e.to_string()))?;
    let stanza = first.unwrap_or_default();
    let sums = stanza.get("SHA256").ok_or(ReleaseError::NoSha256)?;
    let mut files = Vec::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [sha256, size, path] = parts[..] else {
            return Err(ReleaseError::BadLine(line.to_string()));
        };
        let valid_sha = sha256.len() == 64 && sha256.chars().all(|c| c.is_ascii_hexdigit());
        let Ok(size) = size.parse() else {
            return Err(ReleaseError::BadLine(line.to_string()));
        };
        if !valid_sha {
            return Err(ReleaseError::BadLine(line.to_string()));
        }
        files.push(IndexFile {
            path: path.to_string(),
            size,
            sha256: sha256.to_ascii_lowercase(),
        });
    }
    Ok(Release {
        date: stanza.get("Date").map(str::to_string),
        suite: stanza.get("Suite").map(str::to_string),
        codename: stanza.get("Codename").map(str::to_string),
        files,
    })
}

/// The message of a clearsigned `InRelease` (RFC 4880 §7): between the armor
/// header's blank line and the signature, dash-escaping undone.
pub fn clearsigned_message(text: &str) -> Result<String, ReleaseError> {
    let mut lines = text.lines();
    let begin = lines.find(|l| !l.trim().is_empty());
    if begin.map(str::trim_end) != Some("-----BEGIN PGP SIGNED MESSAGE-----") {
        return Err(ReleaseError::NotClearsigned);
    }
    // Armor headers (`Hash: SHA512`) up to the first blank line.
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
    }
    let mut message = Vec::new();
    let mut signed = false;
    for line in lines {
        if line.trim_end() == "-----BEGIN PGP SIGNATURE-----" {
            signed = true;
            break;
        }
        message.push(line.strip_prefix("- ").unwrap_or(line));
    }
    if !signed {
        return Err(ReleaseError::NotClearsigned);
    }
    Ok(message.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/deb/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn reads_the_sha256_list_of_real_publisher_output() {
        let release = parse(&fixture("obs-published/Release")).unwrap();
        assert_eq!(release.files.len(), 2);
        let packages = release.file("Packages").unwrap();
        assert_eq!(packages.size, 6513);
        assert!(packages.sha256.starts_with("62d5fdbd"));
        assert!(release.file("Packages.gz").is_some());
        assert_eq!(release.date.as_deref(), Some("Sat Nov 21 04:31:46 2026"));
    }

    #[test]
    fn refuses_a_release_without_sha256_or_with_a_bad_line() {
        assert_eq!(
            parse("Origin: x\nMD5Sum:\n 00 1 Packages\n"),
            Err(ReleaseError::NoSha256)
        );
        assert!(matches!(
            parse("SHA256:\n nothex 1 Packages\n"),
            Err(ReleaseError::BadLine(_))
        ));
    }

    #[test]
    fn the_message_of_a_clearsigned_release() {
        let text = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: x\n- -dashed\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n";
        assert_eq!(clearsigned_message(text).unwrap(), "Origin: x\n-dashed");
        assert_eq!(
            clearsigned_message("Origin: x\n"),
            Err(ReleaseError::NotClearsigned)
        );
    }
}
