//! Whole-file checksums as sources list them, and the hashing that checks
//! them. Packagecloud lists sha256 and OBS md5, so every file is hashed with
//! both; some rpm-md repositories list only sha1 or sha512, and a file from
//! one of those is hashed with that algorithm too (only then: sha512 costs as
//! much as the other two together).

use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use std::fmt;

/// The checksum algorithms pkgsync verifies files by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    /// The algorithm an rpm-md `type` attribute names (`sha` is yum's old
    /// name for sha1); `None` for one pkgsync does not verify by.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "md5" => Some(Self::Md5),
            "sha" | "sha1" => Some(Self::Sha1),
            "sha256" => Some(Self::Sha256),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A checksum a source lists: its algorithm and lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub hex: String,
}

impl Checksum {
    pub fn sha256(hex: impl Into<String>) -> Self {
        Self {
            algorithm: Algorithm::Sha256,
            hex: hex.into().to_ascii_lowercase(),
        }
    }

    /// A checksum as listed with an algorithm's name (`type="sha512"`); an
    /// algorithm pkgsync does not verify by, or hex of the wrong length or
    /// with other characters, is refused with the reason.
    /// md5 is refused here: a listed md5 is one a hostile repository can
    /// match with other bytes (OBS's md5s, which come with its own API, are
    /// not parsed from metadata).
    pub fn parse(algorithm: &str, hex: &str) -> Result<Self, String> {
        let known = Algorithm::from_name(algorithm).filter(|a| *a != Algorithm::Md5);
        let Some(known) = known else {
            return Err(format!(
                "a {:?} checksum, which pkgsync does not verify by (sha1, sha256, sha512)",
                algorithm.chars().take(32).collect::<String>()
            ));
        };
        let length = match known {
            Algorithm::Md5 => 32,
            Algorithm::Sha1 => 40,
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        };
        if hex.len() != length || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "a {known} checksum that is not {length} hex digits"
            ));
        }
        Ok(Self {
            algorithm: known,
            hex: hex.to_ascii_lowercase(),
        })
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.hex)
    }
}

/// What a file is: its length and digests (sha1 and sha512 only when they
/// were asked for).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Digests {
    pub size: u64,
    pub md5: String,
    pub sha256: String,
    pub sha1: Option<String>,
    pub sha512: Option<String>,
}

impl Digests {
    /// The digest by `algorithm`, if it was computed.
    pub fn get(&self, algorithm: Algorithm) -> Option<&str> {
        match algorithm {
            Algorithm::Md5 => Some(&self.md5),
            Algorithm::Sha256 => Some(&self.sha256),
            Algorithm::Sha1 => self.sha1.as_deref(),
            Algorithm::Sha512 => self.sha512.as_deref(),
        }
    }

    /// `Err` names the first listed checksum that the bytes do not have.
    pub fn check(&self, listed: &[Checksum]) -> Result<(), String> {
        for checksum in listed {
            match self.get(checksum.algorithm) {
                Some(got) if got.eq_ignore_ascii_case(&checksum.hex) => {}
                Some(got) => {
                    return Err(format!(
                        "{} `{got}`, listed `{}`",
                        checksum.algorithm, checksum.hex
                    ));
                }
                None => return Err(format!("its {} was not computed", checksum.algorithm)),
            }
        }
        Ok(())
    }
}

/// Hashes bytes as they pass: md5 and sha256 always, sha1 and sha512 when
/// asked for.
pub struct Hasher {
    size: u64,
    md5: Md5,
    sha256: Sha256,
    sha1: Option<Sha1>,
    sha512: Option<Sha512>,
}

impl Hasher {
    /// A hasher that also computes every algorithm in `also`.
    pub fn new(also: &[Algorithm]) -> Self {
        Self {
            size: 0,
            md5: Md5::new(),
            sha256: Sha256::new(),
            sha1: also.contains(&Algorithm::Sha1).then(Sha1::new),
            sha512: also.contains(&Algorithm::Sha512).then(Sha512::new),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.md5.update(bytes);
        self.sha256.update(bytes);
        if let Some(sha1) = &mut self.sha1 {
            sha1.update(bytes);
        }
        if let Some(sha512) = &mut self.sha512 {
            sha512.update(bytes);
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn finish(self) -> Digests {
        Digests {
            size: self.size,
            md5: hex::encode(self.md5.finalize()),
            sha256: hex::encode(self.sha256.finalize()),
            sha1: self.sha1.map(|h| hex::encode(h.finalize())),
            sha512: self.sha512.map(|h| hex::encode(h.finalize())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_the_known_ones_and_extra_algorithms_only_when_asked() {
        let mut hasher = Hasher::new(&[Algorithm::Sha512, Algorithm::Sha1]);
        hasher.update(b"ab");
        hasher.update(b"c");
        let digests = hasher.finish();
        assert_eq!(digests.size, 3);
        assert_eq!(digests.md5, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            digests.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            digests.sha1.as_deref(),
            Some("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert!(
            digests
                .sha512
                .as_deref()
                .unwrap()
                .starts_with("ddaf35a193617aba")
        );
        let plain = {
            let mut h = Hasher::new(&[]);
            h.update(b"abc");
            h.finish()
        };
        assert_eq!((plain.sha1, plain.sha512), (None, None));
    }

    #[test]
    fn listed_checksums_are_checked_and_unknown_algorithms_refused() {
        let mut hasher = Hasher::new(&[Algorithm::Sha1]);
        hasher.update(b"abc");
        let digests = hasher.finish();
        let sha1 = Checksum::parse("sha", "A9993E364706816ABA3E25717850C26C9CD0D89D").unwrap();
        assert_eq!(sha1.algorithm, Algorithm::Sha1);
        assert!(digests.check(&[sha1]).is_ok());
        let wrong = Checksum::parse("sha1", &"0".repeat(40)).unwrap();
        assert!(digests.check(&[wrong]).unwrap_err().contains("sha1"));
        let sha512 = Checksum::parse("sha512", &"0".repeat(128)).unwrap();
        assert!(
            digests
                .check(&[sha512])
                .unwrap_err()
                .contains("not computed")
        );
        assert!(Checksum::parse("sha384", &"0".repeat(96)).is_err());
        let md5 = Checksum::parse("MD5", &"0".repeat(32)).unwrap_err();
        assert!(
            md5.contains("\"MD5\"") && md5.contains("does not verify by"),
            "{md5}"
        );
        assert!(Checksum::parse("sha256", "abc").is_err());
    }
}
