//! A Debian `Packages` index, read as a stream: per stanza the package, its
//! version and architecture, where the file is (`Filename:`), its size and
//! sha256.

use super::stanza::{self, Stanza, StanzaError};
use std::io::BufRead;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebPackage {
    pub package: String,
    pub version: String,
    pub architecture: String,
    /// `Filename:` as listed: relative to the archive's root (or to a flat
    /// repository's directory), with or without a leading `./`.
    pub filename: String,
    pub size: u64,
    pub sha256: String,
}

impl DebPackage {
    /// The name Packagecloud stores it under: `name_version_arch.deb`, the
    /// version without its epoch.
    pub fn canonical_filename(&self) -> String {
        let version = self
            .version
            .split_once(':')
            .map_or(self.version.as_str(), |(_, v)| v);
        format!("{}_{version}_{}.deb", self.package, self.architecture)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PackagesError {
    #[error(transparent)]
    Stanza(#[from] StanzaError),
    #[error("stanza {index} (`{package}`) lacks {what}")]
    Incomplete {
        index: usize,
        package: String,
        what: &'static str,
    },
    #[error("stanza {index} (`{package}`): {source}")]
    NotText {
        index: usize,
        package: String,
        source: stanza::NotText,
    },
}

pub fn read(
    input: impl BufRead,
    mut each: impl FnMut(DebPackage) -> Result<(), PackagesError>,
) -> Result<usize, PackagesError> {
    let mut index = 0;
    stanza::read(input, |s: Stanza| {
        let package = parse(&s, index)?;
        index += 1;
        each(package)
    })
}

fn parse(s: &Stanza, index: usize) -> Result<DebPackage, PackagesError> {
    let shown = |package: &str| crate::display::text(package).into_owned();
    let package = match s.text("Package") {
        Ok(name) => name.unwrap_or_default().to_string(),
        Err(source) => {
            let package = "?".to_string();
            return Err(PackagesError::NotText {
                index,
                package,
                source,
            });
        }
    };
    let field = |name: &str, what: &'static str| match s.text(name) {
        Err(source) => Err(PackagesError::NotText {
            index,
            package: shown(&package),
            source,
        }),
        Ok(value) => value
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| PackagesError::Incomplete {
                index,
                package: shown(&package),
                what,
            }),
    };
    let size = field("Size", "a `Size`")?;
    let sha256 = field("SHA256", "a `SHA256`")?;
    let valid_sha = sha256.len() == 64 && sha256.chars().all(|c| c.is_ascii_hexdigit());
    let incomplete = |what| PackagesError::Incomplete {
        index,
        package: shown(&package),
        what,
    };
    if !valid_sha {
        return Err(incomplete("a valid `SHA256`"));
    }
    Ok(DebPackage {
        version: field("Version", "a `Version`")?,
        architecture: field("Architecture", "an `Architecture`")?,
        filename: field("Filename", "a `Filename`")?,
        size: size.parse().map_err(|_| incomplete("a numeric `Size`"))?,
        sha256: sha256.to_ascii_lowercase(),
        package: if package.is_empty() {
            return Err(incomplete("a `Package`"));
        } else {
            package.clone()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/deb/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn reads_real_publisher_and_scanpackages_output() {
        let mut all = Vec::new();
        let count = read(&fixture("obs-published/Packages")[..], |p| {
            all.push(p);
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 13);
        assert_eq!(all[0].filename, "./amd64/hello_1.0-1.1_amd64.deb");
        assert_eq!(all[0].canonical_filename(), "hello_1.0-1.1_amd64.deb");
        assert_eq!(all[0].size, 792);

        let mut one = Vec::new();
        read(&fixture("hello-obs/Packages")[..], |p| {
            one.push(p);
            Ok(())
        })
        .unwrap();
        assert_eq!(one[0].filename, "all/hello-obs_1.0-1.1_all.deb");
        assert!(one[0].sha256.starts_with("e0ba9023"));
    }

    #[test]
    fn the_epoch_is_not_part_of_the_file_name_and_a_missing_sha256_is_refused() {
        let p = DebPackage {
            package: "a".into(),
            version: "2:1.0-1".into(),
            architecture: "amd64".into(),
            filename: "pool/a.deb".into(),
            size: 1,
            sha256: "0".repeat(64),
        };
        assert_eq!(p.canonical_filename(), "a_1.0-1_amd64.deb");
        let text = "Package: a\nVersion: 1\nArchitecture: all\nFilename: a.deb\nSize: 1\n";
        assert!(matches!(
            read(text.as_bytes(), |_| Ok(())),
            Err(PackagesError::Incomplete {
                what: "a `SHA256`",
                ..
            })
        ));
    }
}
