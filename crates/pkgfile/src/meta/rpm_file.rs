//! An rpm's identity from its lead, signature and main header, each index
//! entry checked against its data store; the payload is never read.

use super::{Origin, PackageIdentity, PkgMetaError, RPM_MAGIC, check_field};
use crate::PackageType;
use std::io::{self, BufRead, Read};

pub(super) fn read_rpm(
    reader: &mut impl BufRead,
    origin: &Origin,
) -> Result<PackageIdentity, PkgMetaError> {
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
