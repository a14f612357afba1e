//! The sandbox's OpenPGP signing key and the signatures a publisher puts
//! beside its metadata: `repodata/repomd.xml.asc` (armored, detached) in an
//! rpm-md tree; `InRelease` (the `Release` clearsigned) and `Release.gpg`
//! (armored, detached) in a Debian tree. The key is made anew on every start
//! and lives only in memory; its armored public half is written beside the
//! trees, as a distribution publishes its archive key.
//!
//! An Ed25519 v4 key of the legacy EdDSA algorithm: the form gpg 2.2 and apt
//! verify (the RFC 9580 Ed25519 algorithm is unknown to them).

use anyhow::Context;
use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, DetachedSignature, KeyType, SecretKeyParamsBuilder,
    SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::types::{KeyDetails, Password};
use std::fmt;
use std::path::Path;

/// The name of the armored public key in the published root.
pub const KEY_FILE: &str = "sandbox-signing-key.asc";

const USER_ID: &str = "pkgsync sandbox publisher <publisher@sandbox.invalid>";

/// A secret signing key made for one sandbox.
pub struct SigningKey {
    secret: SignedSecretKey,
    fingerprint: String,
}

/// Shows the fingerprint, never key material.
impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl SigningKey {
    /// A new key that certifies and signs with its primary key (no subkeys:
    /// a repository key needs nothing else).
    pub fn generate() -> anyhow::Result<Self> {
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(USER_ID.into())
            .preferred_hash_algorithms([HashAlgorithm::Sha256].into_iter().collect())
            .build()
            .context("the signing key's parameters")?;
        let secret = params
            .generate(rand::thread_rng())
            .context("generating the signing key")?;
        let fingerprint = format!("{:X}", secret.fingerprint());
        Ok(Self {
            secret,
            fingerprint,
        })
    }

    /// Uppercase hex, as gpg shows it and as pkgsync records it in a plan.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The public key, armored (what `signed_by:` names).
    pub fn public_key_armored(&self) -> anyhow::Result<String> {
        self.secret
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .context("armoring the public key")
    }

    /// An armored detached signature over `data` (binary mode, as
    /// `gpg --armor --detach-sign` makes it).
    pub fn detached(&self, data: &[u8]) -> anyhow::Result<String> {
        DetachedSignature::sign_binary_data(
            rand::thread_rng(),
            &self.secret.primary_key,
            &Password::empty(),
            HashAlgorithm::Sha256,
            data,
        )
        .and_then(|s| s.to_armored_string(ArmorOptions::default()))
        .context("a detached signature")
    }

    /// `text` clearsigned, as `gpg --clearsign` makes an `InRelease`.
    pub fn clearsigned(&self, text: &str) -> anyhow::Result<String> {
        CleartextSignedMessage::sign(
            rand::thread_rng(),
            text,
            &self.secret.primary_key,
            &Password::empty(),
        )
        .and_then(|m| m.to_armored_string(ArmorOptions::default()))
        .context("a clearsigned message")
    }

    /// Writes the public key as `root/KEY_FILE` and signs every tree below
    /// `root/trees` (each `repodata/repomd.xml` and each `Release`).
    /// Returns how many indexes were signed.
    pub fn publish(&self, root: &Path, trees: &Path) -> anyhow::Result<usize> {
        let key_file = root.join(KEY_FILE);
        std::fs::write(&key_file, self.public_key_armored()?)
            .with_context(|| format!("writing `{}`", key_file.display()))?;
        // A seed without succeeded builds publishes no tree at all.
        if !trees.exists() {
            return Ok(0);
        }
        self.sign_below(trees)
    }

    /// Signs the indexes below `dir`, without following links (a tree's
    /// `latest` link would sign its target twice).
    pub fn sign_below(&self, dir: &Path) -> anyhow::Result<usize> {
        let mut signed = 0;
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("reading `{}`", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading `{}`", dir.display()))?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                signed += self.sign_below(&path)?;
            } else if kind.is_file() {
                signed += self
                    .sign_index(&path)
                    .with_context(|| format!("signing `{}`", path.display()))?;
            }
        }
        Ok(signed)
    }

    /// Signs `path` if it is an index a publisher signs; 1 if it was.
    fn sign_index(&self, path: &Path) -> anyhow::Result<usize> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let in_repodata = path
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|p| p == "repodata");
        match name {
            "repomd.xml" if in_repodata => {
                let signature = self.detached(&std::fs::read(path)?)?;
                std::fs::write(path.with_file_name("repomd.xml.asc"), signature)?;
            }
            "Release" => {
                // Release is plain text by definition; apt reads it as UTF-8.
                let text = std::fs::read_to_string(path)?;
                std::fs::write(
                    path.with_file_name("Release.gpg"),
                    self.detached(text.as_bytes())?,
                )?;
                std::fs::write(path.with_file_name("InRelease"), self.clearsigned(&text)?)?;
            }
            _ => return Ok(0),
        }
        Ok(1)
    }
}
