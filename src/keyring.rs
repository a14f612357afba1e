//! The OpenPGP public keys a published repository must be signed by
//! (`signed_by:`), and the verification of its signatures: a detached one
//! (`repomd.xml.asc`, `Release.gpg`) or a clearsigned message (`InRelease`).
//! A signature counts when it verifies against a primary key or a subkey of
//! one of the keys. rPGP (`pgp`) does the OpenPGP work; nothing here parses
//! packets by hand.

use pgp::composed::{
    CleartextSignedMessage, Deserializable, DetachedSignature, SignedPublicKey, SignedPublicSubKey,
};
use pgp::types::KeyDetails;
use std::fmt;
use std::path::{Path, PathBuf};

/// The keys of one `signed_by` file.
#[derive(Clone)]
pub struct Keyring {
    path: PathBuf,
    keys: Vec<SignedPublicKey>,
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

impl Keyring {
    /// Reads one or several armored public keys (blocks may follow each other).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the key file `{}`: {e}", path.display()))?;
        let bad = |detail: String| format!("`{}`: {detail}", path.display());
        let mut keys = Vec::new();
        const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
        for block in text.split(BEGIN).skip(1) {
            let armored = format!("{BEGIN}{block}");
            let (parsed, _) = SignedPublicKey::from_string_many(&armored)
                .map_err(|e| bad(format!("not an armored OpenPGP public key: {e}")))?;
            for key in parsed {
                let key = key.map_err(|e| bad(format!("a key does not parse: {e}")))?;
                key.verify_bindings()
                    .map_err(|e| bad(format!("a key's self-signatures do not verify: {e}")))?;
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(bad("holds no armored OpenPGP public key".to_string()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            keys,
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
        let signature = match std::str::from_utf8(signature) {
            Ok(text) if text.contains("-----BEGIN PGP SIGNATURE-----") => {
                DetachedSignature::from_string(text).map(|(s, _)| s)
            }
            _ => DetachedSignature::from_bytes(signature),
        }
        .map_err(|e| format!("the signature does not parse: {e}"))?;
        self.first_verifying(
            |key| signature.verify(key, data).is_ok(),
            |sub| signature.verify(sub, data).is_ok(),
        )
    }

    /// A clearsigned message: the text it signs (line ends as `\n`) and the
    /// fingerprint of the key that signed it.
    pub fn verify_cleartext(&self, armored: &str) -> Result<(String, String), String> {
        let (message, _) = CleartextSignedMessage::from_string(armored)
            .map_err(|e| format!("not a clearsigned message: {e}"))?;
        let fingerprint = self.first_verifying(
            |key| message.verify(key).is_ok(),
            |sub| message.verify(sub).is_ok(),
        )?;
        Ok((message.signed_text().replace("\r\n", "\n"), fingerprint))
    }

    /// The first key whose primary key (`by_key`) or a subkey (`by_subkey`)
    /// made the signature.
    fn first_verifying(
        &self,
        by_key: impl Fn(&SignedPublicKey) -> bool,
        by_subkey: impl Fn(&SignedPublicSubKey) -> bool,
    ) -> Result<String, String> {
        for key in &self.keys {
            let signed = by_key(key) || key.public_subkeys.iter().any(&by_subkey);
            if signed {
                return Ok(format!("{:X}", key.fingerprint()));
            }
        }
        Err(format!(
            "no valid signature by the key(s) of `{}` ({})",
            self.path.display(),
            self.fingerprints().join(", ")
        ))
    }
}
