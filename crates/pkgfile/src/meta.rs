//! Reads package identity (name, epoch, version, release, arch, source or binary)
//! from real rpm and deb files, and derives the canonical filename Packagecloud
//! stores a package under.
//!
//! rpm: only the lead, signature and main header are parsed (`rpm::PackageMetadata`),
//! never the payload. deb: the `ar` archive is walked to its `control.tar.{gz,xz,zst}`
//! (or plain `control.tar`) and the `control` file's `Package`, `Version` and
//! `Architecture` fields are read. Decompressed control data is capped so a hostile
//! file cannot exhaust memory. Malformed input gives a [`PkgMetaError`], never a panic.

use crate::PackageType;
use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::path::{Path, PathBuf};

/// Largest decompressed `control.tar` we accept; real ones are a few KiB.
const MAX_CONTROL_TAR: u64 = 16 * 1024 * 1024;
/// Largest `control` file inside it.
const MAX_CONTROL_FILE: u64 = 1024 * 1024;

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

fn read_rpm(reader: &mut impl BufRead, origin: &Origin) -> Result<PackageIdentity, PkgMetaError> {
    let invalid = |reason: String| PkgMetaError::InvalidRpm {
        file: origin.to_string(),
        reason,
    };
    // The rpm crate trusts offsets and counts and can panic on hostile headers, so
    // the structure is checked here first and only the checked bytes are handed on.
    let metadata = read_rpm_metadata(reader).map_err(&invalid)?;
    let meta = rpm::PackageMetadata::parse(&mut io::Cursor::new(metadata))
        .map_err(|e| invalid(e.to_string()))?;
    let text = |r: Result<&str, rpm::Error>, tag: &str| {
        r.map(str::to_owned)
            .map_err(|e| invalid(format!("{tag}: {e}")))
    };
    let name = text(meta.get_name(), "name")?;
    let version = text(meta.get_version(), "version")?;
    let release = text(meta.get_release(), "release")?;
    let epoch = match meta.get_epoch() {
        Ok(epoch) => Some(epoch),
        Err(rpm::Error::TagNotFound(_)) => None,
        Err(e) => return Err(invalid(format!("epoch: {e}"))),
    };
    // rpm itself calls a header without SOURCERPM a source package; rpmbuild also
    // sets SOURCEPACKAGE. Either marks a `.src.rpm`, whatever the Arch tag says.
    let is_source = meta.is_source_package()
        || !meta
            .header
            .entry_is_present(rpm::IndexTag::RPMTAG_SOURCERPM);
    let arch = if is_source {
        "src".to_string()
    } else {
        text(meta.get_arch(), "arch")?
    };
    for (field, value) in [
        ("name", &name),
        ("version", &version),
        ("release", &release),
    ] {
        check_field(field, value).map_err(&invalid)?;
    }
    check_field("arch", &arch).map_err(&invalid)?;
    Ok(PackageIdentity {
        package_type: PackageType::Rpm,
        name,
        epoch,
        version,
        release: Some(release),
        arch,
    })
}

const RPM_LEAD_LEN: usize = 96;
const RPM_HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];
/// rpm's own limits (`hdrchkTags`, `hdrchkData` in rpm's header.c).
const RPM_MAX_ENTRIES: usize = 0xffff;
const RPM_MAX_DATA: usize = 0x0fff_ffff;

/// Reads the lead, the signature header (with its padding) and the main header,
/// checking every index entry against its data store, and returns those bytes.
fn read_rpm_metadata(reader: &mut impl Read) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; RPM_LEAD_LEN];
    reader
        .read_exact(&mut out)
        .map_err(|e| format!("lead: {e}"))?;
    if out[..4] != RPM_MAGIC {
        return Err("bad lead magic".into());
    }
    read_rpm_header(reader, &mut out, "signature header")?;
    let padding = (8 - out.len() % 8) % 8;
    let start = out.len();
    out.resize(start + padding, 0);
    reader
        .read_exact(&mut out[start..])
        .map_err(|e| format!("signature padding: {e}"))?;
    read_rpm_header(reader, &mut out, "header")?;
    Ok(out)
}

/// Appends one header structure (intro, index, store) to `out` after checking it.
fn read_rpm_header(reader: &mut impl Read, out: &mut Vec<u8>, what: &str) -> Result<(), String> {
    let mut intro = [0u8; 16];
    reader
        .read_exact(&mut intro)
        .map_err(|e| format!("{what}: {e}"))?;
    if intro[..4] != RPM_HEADER_MAGIC {
        return Err(format!("{what}: bad magic"));
    }
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let entries = be32(&intro[8..12]);
    let data_len = be32(&intro[12..16]);
    if entries == 0 || entries > RPM_MAX_ENTRIES || data_len > RPM_MAX_DATA {
        return Err(format!(
            "{what}: implausible size ({entries} entries, {data_len} bytes)"
        ));
    }
    let mut rest = vec![0u8; entries * 16 + data_len];
    reader
        .read_exact(&mut rest)
        .map_err(|e| format!("{what}: {e}"))?;
    let (index, store) = rest.split_at(entries * 16);
    for entry in index.chunks_exact(16) {
        let kind = be32(&entry[4..8]);
        let count = be32(&entry[12..16]);
        let bad = || format!("{what}: index entry points outside its data");
        // Offsets are signed on disk; a negative one is never valid here.
        let offset = i32::from_be_bytes([entry[8], entry[9], entry[10], entry[11]]);
        let offset = usize::try_from(offset).map_err(|_| bad())?;
        if offset > store.len() || count > store.len() {
            return Err(bad());
        }
        let data = &store[offset..];
        let fixed = |size: usize| count.checked_mul(size).is_some_and(|n| n <= data.len());
        let ok = match kind {
            0 => true,
            1 | 2 | 7 => fixed(1),
            3 => fixed(2),
            4 => fixed(4),
            5 => fixed(8),
            // STRING holds one string; STRING_ARRAY and I18NSTRING hold `count`.
            6 => data.contains(&0),
            8 | 9 => data.iter().filter(|b| **b == 0).count() >= count,
            _ => return Err(format!("{what}: unknown data type {kind}")),
        };
        if !ok {
            return Err(bad());
        }
    }
    out.extend_from_slice(&intro);
    out.extend_from_slice(&rest);
    Ok(())
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

fn read_deb(reader: impl Read, origin: &Origin) -> Result<PackageIdentity, PkgMetaError> {
    let invalid = |reason: String| PkgMetaError::InvalidDeb {
        file: origin.to_string(),
        reason,
    };
    let mut archive = ar::Archive::new(reader);
    let mut seen_debian_binary = false;
    while let Some(entry) = archive.next_entry() {
        let mut entry = entry.map_err(|e| invalid(format!("bad ar archive: {e}")))?;
        let member = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        // GNU ar may end member names with `/`.
        let member = member.trim_end_matches('/').to_string();
        if member == "debian-binary" {
            let mut version = String::new();
            (&mut entry)
                .take(64)
                .read_to_string(&mut version)
                .map_err(|e| invalid(format!("debian-binary: {e}")))?;
            if !version.starts_with("2.") {
                return Err(invalid(format!(
                    "unsupported format version `{}`",
                    version.trim().escape_debug()
                )));
            }
            seen_debian_binary = true;
            continue;
        }
        if let Some(compression) = member.strip_prefix("control.tar") {
            if !seen_debian_binary {
                return Err(invalid("`debian-binary` is not the first member".into()));
            }
            let tar = decompress(&mut entry, compression).map_err(&invalid)?;
            let control = control_file(&tar).map_err(&invalid)?;
            return identity_from_control(&control).map_err(invalid);
        }
    }
    Err(invalid("no control.tar member".into()))
}

/// Decompresses a `control.tar<suffix>` member, refusing more than `MAX_CONTROL_TAR`.
fn decompress(member: &mut impl Read, suffix: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let result = match suffix {
        "" => member
            .take(MAX_CONTROL_TAR + 1)
            .read_to_end(&mut out)
            .map(drop),
        ".gz" => flate2::read::GzDecoder::new(member)
            .take(MAX_CONTROL_TAR + 1)
            .read_to_end(&mut out)
            .map(drop),
        ".xz" => {
            let mut input = io::BufReader::new(member);
            let mut sink = CappedWriter {
                buf: &mut out,
                cap: MAX_CONTROL_TAR,
            };
            lzma_rs::xz_decompress(&mut input, &mut sink)
                .map_err(|e| io::Error::other(e.to_string()))
        }
        ".zst" => match ruzstd::decoding::StreamingDecoder::new(member) {
            Ok(decoder) => decoder
                .take(MAX_CONTROL_TAR + 1)
                .read_to_end(&mut out)
                .map(drop),
            Err(e) => Err(io::Error::other(e.to_string())),
        },
        other => {
            return Err(format!(
                "unsupported control compression `control.tar{other}`"
            ));
        }
    };
    result.map_err(|e| format!("control.tar{suffix}: {e}"))?;
    if out.len() as u64 > MAX_CONTROL_TAR {
        return Err(format!(
            "control.tar{suffix} is larger than {MAX_CONTROL_TAR} bytes"
        ));
    }
    Ok(out)
}

/// A writer that fails once more than `cap` bytes were written.
struct CappedWriter<'a> {
    buf: &'a mut Vec<u8>,
    cap: u64,
}

impl Write for CappedWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() as u64 + data.len() as u64 > self.cap {
            return Err(io::Error::other("decompressed data too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Finds `./control` (or `control`) in the control tarball.
fn control_file(tar_bytes: &[u8]) -> Result<String, String> {
    let mut archive = tar::Archive::new(tar_bytes);
    let entries = archive
        .entries()
        .map_err(|e| format!("bad control.tar: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("bad control.tar: {e}"))?;
        let path: PathBuf = entry
            .path()
            .map_err(|e| format!("bad control.tar entry: {e}"))?
            .into_owned();
        if path == Path::new("./control") || path == Path::new("control") {
            let mut text = String::new();
            entry
                .take(MAX_CONTROL_FILE)
                .read_to_string(&mut text)
                .map_err(|e| format!("control file: {e}"))?;
            return Ok(text);
        }
    }
    Err("control.tar has no `control` file".into())
}

/// Reads the first stanza's simple fields (continuation lines are skipped).
fn control_field<'a>(control: &'a str, field: &str) -> Option<&'a str> {
    control
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (!line.starts_with([' ', '\t']) && key.eq_ignore_ascii_case(field))
                .then(|| value.trim())
        })
}

fn identity_from_control(control: &str) -> Result<PackageIdentity, String> {
    let field = |name: &str| {
        control_field(control, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("control file has no `{name}` field"))
    };
    let name = field("Package")?.to_string();
    let full_version = field("Version")?;
    let arch = field("Architecture")?.to_string();
    let (epoch, rest) = match full_version.split_once(':') {
        Some((epoch, rest)) => {
            let epoch = epoch
                .parse::<u32>()
                .map_err(|_| format!("bad epoch in Version `{full_version}`"))?;
            (Some(epoch), rest)
        }
        None => (None, full_version),
    };
    let (version, release) = match rest.rsplit_once('-') {
        Some((upstream, revision)) => (upstream.to_string(), Some(revision.to_string())),
        None => (rest.to_string(), None),
    };
    for (label, value) in [
        ("Package", &name),
        ("Version", &version),
        ("Architecture", &arch),
    ] {
        check_field(label, value)?;
    }
    if let Some(release) = &release {
        check_field("Version", release)?;
    }
    Ok(PackageIdentity {
        package_type: PackageType::Deb,
        name,
        epoch,
        version,
        release,
        arch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
