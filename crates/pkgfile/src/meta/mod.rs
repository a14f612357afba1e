//! Reads package identity (name, epoch, version, release, arch, source or binary)
//! from real rpm and deb files, and derives the canonical filename Packagecloud
//! stores a package under.
//!
//! rpm: only the lead, signature and main header are parsed (`rpm::PackageMetadata`),
//! never the payload. deb: the `ar` archive is walked to its `control.tar.{gz,xz,zst}`
//! (or plain `control.tar`) and the `control` file's `Package`, `Version` and
//! `Architecture` fields are read. Decompressed control data is capped so a hostile
//! file cannot exhaust memory. Malformed input gives a [`PkgMetaError`], never a panic.
//!
//! `rpm_file.rs` reads rpms, `deb_file.rs` debs.

mod deb_file;
mod rpm_file;

use crate::PackageType;
use deb_file::read_deb;
use rpm_file::read_rpm;
use std::fmt;
use std::io::{self, BufRead};
use std::path::Path;

/// What a package file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageIdentity {
    pub package_type: PackageType,
    pub name: String,
    /// rpm: the Epoch tag when present. deb: the `N:` prefix of Version when present.
    pub epoch: Option<u32>,
    /// rpm: Version. deb: the upstream part of Version (no epoch, no revision).
    pub version: String,
    /// rpm: Release. deb: the revision after the last `-`, if any.
    pub release: Option<String>,
    /// rpm: the header's Arch, or `src` for source rpms. deb: Architecture.
    pub arch: String,
}

impl PackageIdentity {
    /// The name Packagecloud (and OBS) give this package: `N-V-R.A.rpm`
    /// (`N-V-R.src.rpm` for source rpms), `name_version[-rev]_arch.deb` (no epoch).
    pub fn canonical_filename(&self) -> String {
        match self.package_type {
            PackageType::Rpm => format!(
                "{}-{}-{}.{}.rpm",
                self.name,
                self.version,
                self.release.as_deref().unwrap_or_default(),
                self.arch
            ),
            PackageType::Deb => format!("{}_{}_{}.deb", self.name, self.deb_version(), self.arch),
        }
    }

    /// `version[-release]`, the Debian version without its epoch.
    pub fn deb_version(&self) -> String {
        match &self.release {
            Some(release) => format!("{}-{}", self.version, release),
            None => self.version.clone(),
        }
    }
}

/// Why a package could not be read. `file` is the path, or `<memory>` for bytes.
#[derive(Debug, thiserror::Error)]
pub enum PkgMetaError {
    #[error("cannot read `{file}`")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("`{file}` is neither an rpm nor a deb package (unknown magic bytes)")]
    UnknownFormat { file: String },
    #[error("`{file}` is not a valid rpm: {reason}")]
    InvalidRpm { file: String, reason: String },
    #[error("`{file}` is not a valid deb: {reason}")]
    InvalidDeb { file: String, reason: String },
}

/// Where the bytes came from, for error messages.
#[derive(Clone)]
struct Origin(String);

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const RPM_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
const AR_MAGIC: &[u8] = b"!<arch>\n";

/// Reads the identity of the package at `path`. The type is sniffed from the
/// magic bytes, not from the file name.
pub fn read_identity(path: &Path) -> Result<PackageIdentity, PkgMetaError> {
    let origin = Origin(path.display().to_string());
    let file = std::fs::File::open(path).map_err(|source| PkgMetaError::Io {
        file: origin.to_string(),
        source,
    })?;
    let mut reader = io::BufReader::new(file);
    let magic = reader.fill_buf().map_err(|source| PkgMetaError::Io {
        file: origin.to_string(),
        source,
    })?;
    match sniff(magic) {
        Some(PackageType::Rpm) => read_rpm(&mut reader, &origin),
        Some(PackageType::Deb) => read_deb(reader, &origin),
        None => Err(PkgMetaError::UnknownFormat {
            file: origin.to_string(),
        }),
    }
}

/// Reads the identity of a package held in memory. With `type_hint` the bytes
/// must be of that type; without it the type is sniffed from the magic bytes.
pub fn read_identity_from_bytes(
    bytes: &[u8],
    type_hint: Option<PackageType>,
) -> Result<PackageIdentity, PkgMetaError> {
    let origin = Origin("<memory>".to_string());
    let package_type = match type_hint.or_else(|| sniff(bytes)) {
        Some(t) => t,
        None => {
            return Err(PkgMetaError::UnknownFormat {
                file: origin.to_string(),
            });
        }
    };
    match package_type {
        PackageType::Rpm => read_rpm(&mut io::Cursor::new(bytes), &origin),
        PackageType::Deb => read_deb(io::Cursor::new(bytes), &origin),
    }
}

fn sniff(head: &[u8]) -> Option<PackageType> {
    if head.starts_with(&RPM_MAGIC) {
        Some(PackageType::Rpm)
    } else if head.starts_with(AR_MAGIC) {
        Some(PackageType::Deb)
    } else {
        None
    }
}

/// Names end up in file names and URL paths: refuse empties and separators.
fn check_field(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("empty {field}"));
    }
    if value.contains(['/', '\0']) || value.chars().any(char::is_whitespace) {
        return Err(format!(
            "{field} `{}` contains a forbidden character",
            value.escape_debug()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::deb_file::identity_from_control;
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/packages")
            .join(name)
    }

    #[test]
    fn reads_real_noarch_rpm() {
        let id = read_identity(&fixture("hello-obs-1.0-1.1.noarch.rpm")).unwrap();
        assert_eq!(id.package_type, PackageType::Rpm);
        assert_eq!(id.name, "hello-obs");
        assert_eq!(id.version, "1.0");
        assert_eq!(id.release.as_deref(), Some("1.1"));
        assert_eq!(id.arch, "noarch");
        assert_eq!(id.epoch, None);
        assert_eq!(id.canonical_filename(), "hello-obs-1.0-1.1.noarch.rpm");
    }

    #[test]
    fn reads_real_source_rpm() {
        let id = read_identity(&fixture("hello-obs-1.0-1.1.src.rpm")).unwrap();
        assert_eq!(id.arch, "src");
        assert_eq!(id.canonical_filename(), "hello-obs-1.0-1.1.src.rpm");
    }

    #[test]
    fn reads_real_deb_with_xz_control() {
        let id = read_identity(&fixture("hello-obs_1.0-1.1_all.deb")).unwrap();
        assert_eq!(id.package_type, PackageType::Deb);
        assert_eq!(id.name, "hello-obs");
        assert_eq!(id.version, "1.0");
        assert_eq!(id.release.as_deref(), Some("1.1"));
        assert_eq!(id.arch, "all");
        assert_eq!(id.canonical_filename(), "hello-obs_1.0-1.1_all.deb");
    }

    #[test]
    fn bytes_and_path_agree_and_sniff_ignores_the_name() {
        for name in [
            "hello-obs-1.0-1.1.noarch.rpm",
            "hello-obs-1.0-1.1.src.rpm",
            "hello-obs_1.0-1.1_all.deb",
        ] {
            let bytes = std::fs::read(fixture(name)).unwrap();
            let from_bytes = read_identity_from_bytes(&bytes, None).unwrap();
            assert_eq!(from_bytes, read_identity(&fixture(name)).unwrap());
            assert_eq!(from_bytes.canonical_filename(), name);
        }
    }

    #[test]
    fn wrong_type_hint_is_an_error() {
        let bytes = std::fs::read(fixture("hello-obs_1.0-1.1_all.deb")).unwrap();
        let err = read_identity_from_bytes(&bytes, Some(PackageType::Rpm)).unwrap_err();
        assert!(matches!(err, PkgMetaError::InvalidRpm { .. }), "{err}");
    }

    #[test]
    fn truncated_and_garbage_files_are_errors_not_panics() {
        for name in [
            "hello-obs-1.0-1.1.noarch.rpm",
            "hello-obs-1.0-1.1.src.rpm",
            "hello-obs_1.0-1.1_all.deb",
        ] {
            let bytes = std::fs::read(fixture(name)).unwrap();
            // Every prefix that cuts into the metadata must fail cleanly.
            for cut in (0..bytes.len().min(2048)).step_by(7) {
                let _ = read_identity_from_bytes(&bytes[..cut], None);
            }
            // Flipped bytes inside the metadata must not panic either.
            for pos in (0..bytes.len().min(1024)).step_by(13) {
                let mut broken = bytes.clone();
                broken[pos] ^= 0xff;
                let _ = read_identity_from_bytes(&broken, None);
            }
        }
        assert!(matches!(
            read_identity_from_bytes(b"hello world", None),
            Err(PkgMetaError::UnknownFormat { .. })
        ));
        assert!(read_identity_from_bytes(&RPM_MAGIC, None).is_err());
        assert!(read_identity_from_bytes(b"!<arch>\n", None).is_err());
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = read_identity(Path::new("/nonexistent/x.rpm")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.rpm"), "{err}");
    }

    #[test]
    fn deb_version_with_epoch_and_without_revision() {
        let id = identity_from_control(
            "Package: foo\nVersion: 2:1.5~rc1-0ubuntu3\nArchitecture: amd64\nDescription: x\n more\n",
        )
        .unwrap();
        assert_eq!(id.epoch, Some(2));
        assert_eq!(id.version, "1.5~rc1");
        assert_eq!(id.release.as_deref(), Some("0ubuntu3"));
        assert_eq!(id.canonical_filename(), "foo_1.5~rc1-0ubuntu3_amd64.deb");

        let id = identity_from_control("Package: bar\nVersion: 3.0\nArchitecture: all\n").unwrap();
        assert_eq!(id.release, None);
        assert_eq!(id.canonical_filename(), "bar_3.0_all.deb");

        // Upstream versions may contain `-`: the revision is after the last one.
        let id =
            identity_from_control("Package: baz\nVersion: 1.0-rc-2\nArchitecture: all\n").unwrap();
        assert_eq!(id.version, "1.0-rc");
        assert_eq!(id.release.as_deref(), Some("2"));
    }

    #[test]
    fn control_without_required_fields_is_an_error() {
        assert!(identity_from_control("Package: foo\nArchitecture: all\n").is_err());
        assert!(identity_from_control("Package: foo\nVersion: x:1\nArchitecture: all\n").is_err());
        assert!(identity_from_control("Package: a/b\nVersion: 1\nArchitecture: all\n").is_err());
    }
}
