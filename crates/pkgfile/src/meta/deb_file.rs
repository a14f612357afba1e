//! A deb's identity from the `control` file of its `control.tar.{gz,xz,zst}`
//! (or plain `control.tar`), decompressed under a cap.

use super::{Origin, PackageIdentity, PkgMetaError, check_field};
use crate::PackageType;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Largest decompressed `control.tar` we accept; real ones are a few KiB.
const MAX_CONTROL_TAR: u64 = 16 * 1024 * 1024;
/// Largest `control` file inside it.
const MAX_CONTROL_FILE: u64 = 1024 * 1024;

pub(super) fn read_deb(
    reader: impl Read,
    origin: &Origin,
) -> Result<PackageIdentity, PkgMetaError> {
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

pub(super) fn identity_from_control(control: &str) -> Result<PackageIdentity, String> {
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
