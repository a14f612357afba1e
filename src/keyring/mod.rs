//! The OpenPGP public keys a published repository must be signed by
//! (`signed_by:`), and the verification of its signatures: a detached one
//! (`repomd.xml.asc`, `Release.gpg`) or a clearsigned message (`InRelease`).
//! Key files are read as users have them (armored blocks or binary keyrings,
//! several keys in one file); `keys.rs` decides which keys may sign and
//! until when, `clearsigned.rs` splits an `InRelease`. rPGP (`pgp`) does the
//! OpenPGP packets and the crypto.

mod clearsigned;
mod keys;

use keys::Signer;
use pgp::composed::{Deserializable, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Packet, PacketParser, Signature};
use pgp::types::KeyDetails;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A key file larger than this is not a keyring (Debian's is 56 KiB).
const MAX_KEY_FILE: u64 = 16 * 1024 * 1024;
const BEGIN_KEY: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

/// The keys of one `signed_by` file.
#[derive(Clone)]
pub struct Keyring {
    path: PathBuf,
    keys: Vec<SignedPublicKey>,
    /// Each key that may sign, with the index of its key in `keys`.
    signers: Vec<(usize, Signer)>,
}

/// Shows the file and the fingerprints, never key material.
impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("path", &self.path)
            .field("fingerprints", &self.fingerprints())
            .finish()
    }
}

impl PartialEq for Keyring {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprints() == other.fingerprints()
    }
}

impl Eq for Keyring {}

/// rPGP's words, cut to one short line (some of its errors quote input bytes).
fn brief(error: impl fmt::Display) -> String {
    let text = error.to_string();
    let line = text.lines().next().unwrap_or_default();
    match line.find(['[', '{']) {
        Some(at) => line[..at].trim_end().to_string(),
        None if line.len() > 160 => format!("{}…", &line[..line.floor_char_boundary(160)]),
        None => line.to_string(),
    }
}

impl Keyring {
    /// Reads one or several public keys: armored blocks (one after another)
    /// or a binary keyring (keys concatenated, apt's `.gpg`).
    pub fn load(path: &Path) -> Result<Self, String> {
        let bad = |detail: String| format!("`{}`: {detail}", path.display());
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_KEY_FILE + 1).read_to_end(&mut bytes))
            .map_err(|e| format!("cannot read the key file `{}`: {e}", path.display()))?;
        if bytes.len() as u64 > MAX_KEY_FILE {
            return Err(bad(format!("larger than {MAX_KEY_FILE} bytes")));
        }
        let text = String::from_utf8_lossy(&bytes);
        let mut parsed = Vec::new();
        if text.contains(BEGIN_KEY) {
            for block in text.split(BEGIN_KEY).skip(1) {
                let armored = format!("{BEGIN_KEY}{block}");
                let (keys, _) = SignedPublicKey::from_string_many(&armored)
                    .map_err(|e| bad(format!("not an armored OpenPGP public key: {}", brief(e))))?;
                parsed.extend(keys);
            }
        } else {
            let keys = SignedPublicKey::from_bytes_many(&bytes[..])
                .map_err(|e| bad(format!("not an OpenPGP keyring: {}", brief(e))))?;
            parsed.extend(keys);
        }
        let mut keys = Vec::new();
        let mut signers = Vec::new();
        for key in parsed {
            let key = key.map_err(|e| bad(format!("a key does not parse: {}", brief(e))))?;
            let index = keys.len();
            signers.extend(
                keys::signers(&key)
                    .map_err(bad)?
                    .into_iter()
                    .map(|s| (index, s)),
            );
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(bad("holds no OpenPGP public key".to_string()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            keys,
            signers,
        })
    }

    /// The primary keys' fingerprints, uppercase hex, as `gpg` shows them.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| format!("{:X}", k.fingerprint()))
            .collect()
    }

    /// A detached signature (armored or binary) over `data`; the fingerprint
    /// of the key whose primary key or subkey made it.
    pub fn verify_detached(&self, data: &[u8], signature: &[u8]) -> Result<String, String> {
        let signatures = signatures(signature)?;
        self.verify_any(&signatures, data)
    }

    /// A clearsigned message: the text it signs (line ends as `\n`) and the
    /// fingerprint of the key that signed it.
    pub fn verify_cleartext(&self, armored: &str) -> Result<(String, String), String> {
        let split = clearsigned::split(armored)?;
        let signatures = signatures(split.signature.as_bytes())?;
        let fingerprint = self.verify_any(&signatures, split.signed.as_bytes())?;
        Ok((split.message(), fingerprint))
    }

    /// The primary fingerprint of the first signature that verifies by a
    /// key that counted when it was made; else why, the most telling reason
    /// first (a key of ours made one: bad, weak, expired, revoked; else the
    /// issuers no key here is).
    fn verify_any(&self, signatures: &[Signature], data: &[u8]) -> Result<String, String> {
        let mut ours = None;
        let mut issuers = Vec::new();
        for signature in signatures {
            let matching: Vec<_> = self
                .signers
                .iter()
                .filter(|(_, s)| issued_by(signature, s))
                .collect();
            if matching.is_empty() {
                issuers.push(issuer(signature));
                continue;
            }
            for (key, signer) in matching {
                match verdict(signature, &self.keys[*key], signer, data) {
                    Ok(()) => return Ok(signer.primary.clone()),
                    Err(why) => {
                        ours.get_or_insert(why);
                    }
                }
            }
        }
        Err(ours.map_or_else(
            || {
                format!(
                    "no valid signature by the key(s) of `{}` ({}): no given key made it \
                 (the signature names issuer {})",
                    self.path.display(),
                    self.fingerprints().join(", "),
                    issuers.join(", ")
                )
            },
            |why| format!("no valid signature: {why}"),
        ))
    }
}

fn issued_by(signature: &Signature, signer: &Signer) -> bool {
    let ids = signature.issuer_key_id();
    let fingerprints = signature.issuer_fingerprint();
    (ids.is_empty() && fingerprints.is_empty())
        || ids.iter().any(|id| **id == signer.key_id)
        || fingerprints
            .iter()
            .any(|f| format!("{f:X}") == signer.fingerprint)
}

/// The issuer a signature claims, as gpg names it (fingerprint, else key id).
fn issuer(signature: &Signature) -> String {
    match (
        signature.issuer_fingerprint().first(),
        signature.issuer_key_id().first(),
    ) {
        (Some(f), _) => format!("{f:X}"),
        (None, Some(id)) => format!("key ID {}", hex::encode_upper(id.as_ref())),
        (None, None) => "none".to_string(),
    }
}

/// Digests apt and gpg no longer accept for data signatures.
fn weak(digest: HashAlgorithm) -> bool {
    matches!(
        digest,
        HashAlgorithm::None | HashAlgorithm::Md5 | HashAlgorithm::Sha1 | HashAlgorithm::Ripemd160
    )
}

/// Whether `signer` (a key of `key`) made `signature` over `data` while it counted.
fn verdict(
    signature: &Signature,
    key: &SignedPublicKey,
    signer: &Signer,
    data: &[u8],
) -> Result<(), String> {
    let by = &signer.fingerprint;
    if let Some(digest) = signature.hash_alg().filter(|d| weak(*d)) {
        return Err(format!(
            "the signature by key {by} uses the weak digest {digest}, which is refused"
        ));
    }
    let checked = match signer.subkey {
        None => signature.verify(key, data),
        Some(index) => signature.verify(&key.public_subkeys[index], data),
    };
    if checked.is_err() {
        return Err(format!(
            "BAD signature by key {by}: a given key made it, but the signed data changed"
        ));
    }
    let made = signature.created().map_or(0, |t| u64::from(t.as_secs()));
    if let Some((when, hard)) = signer.revoked
        && (hard || when <= made)
    {
        return Err(format!(
            "signed by key {by}, which is revoked (since {})",
            keys::date(when)
        ));
    }
    if let Some(expires) = signer.expires
        && expires <= made
    {
        return Err(format!(
            "signed by key {by}, which expired on {}",
            keys::date(expires)
        ));
    }
    Ok(())
}

/// The signature packets of an armored block or of binary packets.
fn signatures(bytes: &[u8]) -> Result<Vec<Signature>, String> {
    let bad = |e: pgp::errors::Error| format!("the signature does not parse: {}", brief(e));
    let armored = bytes
        .trim_ascii_start()
        .starts_with(b"-----BEGIN PGP SIGNATURE-----");
    let packets: Vec<u8> = if armored {
        let mut dearmored = Vec::new();
        pgp::armor::Dearmor::new(std::io::BufReader::new(bytes))
            .read_to_end(&mut dearmored)
            .map_err(|e| format!("the signature's armor does not parse: {}", brief(e)))?;
        dearmored
    } else {
        bytes.to_vec()
    };
    let mut signatures = Vec::new();
    for packet in PacketParser::new(&packets[..]) {
        match packet.map_err(bad)? {
            Packet::Signature(s) => signatures.push(s),
            _ => return Err("the signature holds a packet that is not a signature".into()),
        }
    }
    if signatures.is_empty() {
        return Err("the signature file holds no signature".into());
    }
    Ok(signatures)
}
