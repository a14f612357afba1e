//! Just enough of the rpm header format to rewrite a header: decode the index and
//! store into entries, change them, encode them back the way rpm lays them out.

use anyhow::{Context, bail, ensure};
use md5::Md5;
use sha2::{Digest, Sha256};

const LEAD_LEN: usize = 96;
const MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
const TAG_HEADER_SIGNATURES: u32 = 62;
const TAG_HEADER_IMMUTABLE: u32 = 63;
const TAG_SOURCERPM: u32 = 1044;
const TAG_SOURCEPACKAGE: u32 = 1106;
const SIGTAG_SIZE: u32 = 1000;
const SIGTAG_MD5: u32 = 1004;
const SIGTAG_SHA256: u32 = 273;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_BIN: u32 = 7;

struct Entry {
    tag: u32,
    kind: u32,
    count: u32,
    data: Vec<u8>,
}

/// What the rewritten rpm should be.
pub(super) enum Kind<'a> {
    /// A binary rpm whose SOURCERPM tag names `source_rpm`.
    Binary { source_rpm: &'a str },
    /// A source rpm: no SOURCERPM, SOURCEPACKAGE set, lead type "source".
    Source,
}

/// Rewrites an rpm made by the `rpm` crate and recomputes its signature header.
pub(super) fn rewrite(binary: &[u8], kind: Kind<'_>) -> anyhow::Result<Vec<u8>> {
    ensure!(binary.len() > LEAD_LEN, "too short for an rpm");
    let (_, sig_len) = decode(&binary[LEAD_LEN..])?;
    let header_start = LEAD_LEN + sig_len + (8 - sig_len % 8) % 8;
    let (entries, header_len) = decode(binary.get(header_start..).context("no header")?)?;
    let payload = &binary[header_start + header_len..];

    let mut entries: Vec<Entry> = entries
        .into_iter()
        .filter(|e| e.tag != TAG_SOURCERPM)
        .collect();
    let is_source = matches!(kind, Kind::Source);
    entries.push(match kind {
        Kind::Binary { source_rpm } => Entry {
            tag: TAG_SOURCERPM,
            kind: TYPE_STRING,
            count: 1,
            data: format!("{source_rpm}\0").into_bytes(),
        },
        Kind::Source => Entry {
            tag: TAG_SOURCEPACKAGE,
            kind: TYPE_INT32,
            count: 1,
            data: 1u32.to_be_bytes().to_vec(),
        },
    });
    let header = encode(entries, TAG_HEADER_IMMUTABLE)?;

    let mut md5 = Md5::new();
    md5.update(&header);
    md5.update(payload);
    let signed_len = u32::try_from(header.len() + payload.len())?;
    let signature = encode(
        vec![
            Entry {
                tag: SIGTAG_SHA256,
                kind: TYPE_STRING,
                count: 1,
                data: format!("{}\0", hex::encode(Sha256::digest(&header))).into_bytes(),
            },
            Entry {
                tag: SIGTAG_SIZE,
                kind: TYPE_INT32,
                count: 1,
                data: signed_len.to_be_bytes().to_vec(),
            },
            Entry {
                tag: SIGTAG_MD5,
                kind: TYPE_BIN,
                count: 16,
                data: md5.finalize().to_vec(),
            },
        ],
        TAG_HEADER_SIGNATURES,
    )?;

    let mut out = binary[..LEAD_LEN].to_vec();
    // Lead bytes 6..8: package type, 0 = binary, 1 = source.
    out[6..8].copy_from_slice(&u16::from(is_source).to_be_bytes());
    out.extend_from_slice(&signature);
    out.resize(out.len() + (8 - signature.len() % 8) % 8, 0);
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    Ok(out)
}

/// Decodes a header at the start of `bytes`; returns its entries (without the
/// region entry) and its length in bytes.
fn decode(bytes: &[u8]) -> anyhow::Result<(Vec<Entry>, usize)> {
    ensure!(bytes.len() >= 16 && bytes[..8] == MAGIC, "bad header magic");
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let count = be32(&bytes[8..12]);
    let store_len = be32(&bytes[12..16]);
    let len = 16 + count * 16 + store_len;
    ensure!(bytes.len() >= len, "header runs past the end");
    let store = &bytes[16 + count * 16..len];
    let mut entries = Vec::new();
    for raw in bytes[16..16 + count * 16].chunks_exact(16) {
        let tag = be32(&raw[0..4]) as u32;
        if tag == TAG_HEADER_IMMUTABLE || tag == TAG_HEADER_SIGNATURES {
            continue;
        }
        let kind = be32(&raw[4..8]) as u32;
        let offset = be32(&raw[8..12]);
        let n = be32(&raw[12..16]);
        let data = store.get(offset..).context("offset outside store")?;
        let size = match kind {
            0 => 0,
            1 | 2 | 7 => n,
            3 => n * 2,
            4 => n * 4,
            5 => n * 8,
            6 => nul_terminated_len(data, 1)?,
            8 | 9 => nul_terminated_len(data, n)?,
            other => bail!("unknown data type {other}"),
        };
        let data = data.get(..size).context("data outside store")?.to_vec();
        entries.push(Entry {
            tag,
            kind,
            count: n as u32,
            data,
        });
    }
    Ok((entries, len))
}

fn nul_terminated_len(data: &[u8], strings: usize) -> anyhow::Result<usize> {
    let mut len = 0;
    for _ in 0..strings {
        let end = data[len..]
            .iter()
            .position(|b| *b == 0)
            .context("unterminated string")?;
        len += end + 1;
    }
    Ok(len)
}

/// Encodes entries sorted by tag, data aligned by type, with the region entry
/// first and its trailer at the end of the store (rpm's layout).
fn encode(mut entries: Vec<Entry>, region_tag: u32) -> anyhow::Result<Vec<u8>> {
    entries.sort_by_key(|e| e.tag);
    let mut index = Vec::new();
    let mut store = Vec::new();
    for entry in &entries {
        let align = match entry.kind {
            3 => 2,
            4 => 4,
            5 => 8,
            _ => 1,
        };
        store.resize(store.len().div_ceil(align) * align, 0);
        push_index(&mut index, entry.tag, entry.kind, store.len(), entry.count)?;
        store.extend_from_slice(&entry.data);
    }
    // The trailer repeats the region entry with a negative offset: minus the
    // size of the index it covers (all entries plus itself).
    let region_offset = store.len();
    let covered = -(i32::try_from(entries.len() + 1)? * 16);
    store.extend_from_slice(&region_tag.to_be_bytes());
    store.extend_from_slice(&TYPE_BIN.to_be_bytes());
    store.extend_from_slice(&covered.to_be_bytes());
    store.extend_from_slice(&16u32.to_be_bytes());

    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&u32::try_from(entries.len() + 1)?.to_be_bytes());
    out.extend_from_slice(&u32::try_from(store.len())?.to_be_bytes());
    push_index(&mut out, region_tag, TYPE_BIN, region_offset, 16)?;
    out.extend_from_slice(&index);
    out.extend_from_slice(&store);
    Ok(out)
}

fn push_index(
    out: &mut Vec<u8>,
    tag: u32,
    kind: u32,
    offset: usize,
    count: u32,
) -> anyhow::Result<()> {
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&i32::try_from(offset)?.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    Ok(())
}
