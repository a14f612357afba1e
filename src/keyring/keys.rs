//! One public key as `gpgv` judges it: only the key's own binding
//! signatures (self-certifications, direct-key signatures, subkey bindings,
//! revocations) are verified, third-party certifications are ignored; the
//! keys that may sign are the primary and each subkey whose newest binding
//! allows signing and is cross-certified; each has its expiry and
//! revocation, read from the newest self-signature.

use pgp::composed::{SignedPublicKey, SignedPublicSubKey};
use pgp::packet::{RevocationCode, Signature, SignatureType};
use pgp::types::{KeyDetails, KeyId, Tag};

/// A key that may make data signatures.
#[derive(Clone)]
pub struct Signer {
    pub key_id: KeyId,
    pub fingerprint: String,
    /// The fingerprint of its primary key (itself for a primary).
    pub primary: String,
    /// Index into the primary's subkeys, `None` for the primary itself.
    pub subkey: Option<usize>,
    /// Seconds since the epoch at which it stops counting.
    pub expires: Option<u64>,
    /// When it was revoked, and whether the revocation reaches back to
    /// every signature (compromise, or no reason given).
    pub revoked: Option<(u64, bool)>,
}

fn hex(fingerprint: impl std::fmt::UpperHex) -> String {
    format!("{fingerprint:X}")
}

fn created(signature: &Signature) -> u64 {
    signature.created().map_or(0, |t| u64::from(t.as_secs()))
}

/// Issued by `key` (or naming no issuer at all, which only the crypto decides).
fn issued_by(signature: &Signature, key: &impl KeyDetails) -> bool {
    let ids = signature.issuer_key_id();
    let fingerprints = signature.issuer_fingerprint();
    (ids.is_empty() && fingerprints.is_empty())
        || ids.iter().any(|id| **id == key.legacy_key_id())
        || fingerprints.iter().any(|f| **f == key.fingerprint())
}

fn revocation(signature: &Signature) -> (u64, bool) {
    let soft = matches!(
        signature.revocation_reason_code(),
        Some(RevocationCode::KeySuperseded | RevocationCode::KeyRetired)
    );
    (created(signature), !soft)
}

fn earliest(a: Option<(u64, bool)>, b: (u64, bool)) -> Option<(u64, bool)> {
    Some(match a {
        Some(a) if a.1 || !b.1 && a.0 <= b.0 => a,
        _ => b,
    })
}

/// The signers of `key`, after checking its own binding signatures; an
/// error (`why`, without the file) when one of them does not verify.
pub fn signers(key: &SignedPublicKey) -> Result<Vec<Signer>, String> {
    let primary = &key.primary_key;
    let fingerprint = hex(key.fingerprint());
    let bad = |what: &str, e: pgp::errors::Error| {
        format!("key {fingerprint}: its own {what} does not verify ({e})")
    };
    let mut newest: Option<&Signature> = None;
    let mut revoked = None;
    for user in &key.details.users {
        for signature in user.signatures.iter().filter(|s| issued_by(s, primary)) {
            signature
                .verify_certification(primary, Tag::UserId, &user.id)
                .map_err(|e| bad("certification of a user ID", e))?;
            if signature.typ() != Some(SignatureType::CertRevocation)
                && newest.is_none_or(|n| created(n) <= created(signature))
            {
                newest = Some(signature);
            }
        }
    }
    for signature in key
        .details
        .direct_signatures
        .iter()
        .filter(|s| issued_by(s, primary))
    {
        signature
            .verify_key(primary)
            .map_err(|e| bad("direct-key signature", e))?;
        if newest.is_none_or(|n| created(n) <= created(signature)) {
            newest = Some(signature);
        }
    }
    for signature in key
        .details
        .revocation_signatures
        .iter()
        .filter(|s| issued_by(s, primary))
    {
        signature
            .verify_key(primary)
            .map_err(|e| bad("revocation", e))?;
        revoked = earliest(revoked, revocation(signature));
    }
    let Some(newest) = newest else {
        return Err(format!("key {fingerprint}: it has no valid self-signature"));
    };
    let key_created = u64::from(key.created_at().as_secs());
    let expires = newest
        .key_expiration_time()
        .filter(|d| d.as_secs() != 0)
        .map(|d| key_created + u64::from(d.as_secs()));
    let flags = newest.key_flags();
    let mut signers = Vec::new();
    let has_flags = newest.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, pgp::packet::SubpacketData::KeyFlags(_)))
    });
    if flags.sign() || !has_flags {
        signers.push(Signer {
            key_id: key.legacy_key_id(),
            fingerprint: fingerprint.clone(),
            primary: fingerprint.clone(),
            subkey: None,
            expires,
            revoked,
        });
    }
    for (index, subkey) in key.public_subkeys.iter().enumerate() {
        if let Some(signer) = subkey_signer(key, subkey, index)? {
            signers.push(Signer {
                expires: min_option(signer.expires, expires),
                revoked: match (signer.revoked, revoked) {
                    (a, Some(b)) => earliest(a, b),
                    (a, None) => a,
                },
                ..signer
            });
        }
    }
    Ok(signers)
}

fn min_option(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A subkey as a signer: its bindings verify, the newest allows signing and
/// carries a back-signature by the subkey (gpg requires one too).
fn subkey_signer(
    key: &SignedPublicKey,
    subkey: &SignedPublicSubKey,
    index: usize,
) -> Result<Option<Signer>, String> {
    let primary = &key.primary_key;
    let fingerprint = hex(subkey.key.fingerprint());
    let mut newest: Option<&Signature> = None;
    let mut revoked = None;
    for signature in subkey.signatures.iter().filter(|s| issued_by(s, primary)) {
        signature
            .verify_subkey_binding(primary, &subkey.key)
            .map_err(|e| {
                format!(
                    "key {}: its own binding of subkey {fingerprint} does not verify ({e})",
                    hex(key.fingerprint())
                )
            })?;
        if signature.typ() == Some(SignatureType::SubkeyRevocation) {
            revoked = earliest(revoked, revocation(signature));
        } else if newest.is_none_or(|n| created(n) <= created(signature)) {
            newest = Some(signature);
        }
    }
    let Some(newest) = newest.filter(|n| n.key_flags().sign()) else {
        return Ok(None);
    };
    let cross_certified = newest.embedded_signature().is_some_and(|back| {
        back.verify_primary_key_binding(&subkey.key, primary)
            .is_ok()
    });
    if !cross_certified {
        return Ok(None);
    }
    let created_at = u64::from(subkey.key.created_at().as_secs());
    Ok(Some(Signer {
        key_id: subkey.key.legacy_key_id(),
        fingerprint,
        primary: hex(key.fingerprint()),
        subkey: Some(index),
        expires: newest
            .key_expiration_time()
            .filter(|d| d.as_secs() != 0)
            .map(|d| created_at + u64::from(d.as_secs())),
        revoked,
    }))
}

/// `YYYY-MM-DD` (UTC) of seconds since the epoch.
pub fn date(seconds: u64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = (seconds / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(1_709_251_199), "2024-02-29");
        assert_eq!(super::date(951_782_400), "2000-02-29");
    }
}
