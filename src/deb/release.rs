//! A Debian archive's `Release` (or the message of `InRelease`): what it says
//! about itself, and the size and sha256 of every index file it lists.

use super::stanza::{self, Stanza, StanzaError};
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use std::time::SystemTime;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReleaseError {
    #[error("{0}")]
    Syntax(String),
    #[error("it lists no SHA256 checksums")]
    NoSha256,
    #[error("its SHA256 line {0:?} is not `<sha256> <size> <path>`")]
    BadLine(String),
    #[error("`InRelease` is not a clearsigned message")]
    NotClearsigned,
    #[error("its `{field}` {value:?} is not a date such as `Mon, 07 Dec 2026 08:12:33 UTC`")]
    BadDate { field: &'static str, value: String },
    #[error(
        "it expired on {valid_until} (its `Valid-Until`; the time is {now}): a mirror that stopped updating, or an old Release served again; `check_valid_until: false` reads it anyway"
    )]
    Expired { valid_until: String, now: String },
    #[error(
        "its `Date` {date} is in the future (the time is {now}; more than {FUTURE_SKEW_MINUTES} minutes of clock skew are refused)"
    )]
    InTheFuture { date: String, now: String },
}

/// How far a Release's `Date` may be ahead of the clock (apt refuses any
/// `Date` in the future; a little skew between hosts is tolerated here).
pub const FUTURE_SKEW_MINUTES: i64 = 10;

/// One index file the Release lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// Relative to the directory of the Release file.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub date: Option<String>,
    /// `Suite:` and `Codename:`, what the Release says it is (apt's
    /// "Conflicting distribution" compares them with the suite asked for).
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub valid_until: Option<String>,
    /// `Acquire-By-Hash: yes`: every index is also at `by-hash/SHA256/<sha256>`.
    pub by_hash: bool,
    pub files: Vec<IndexFile>,
}

impl Release {
    pub fn file(&self, path: &str) -> Option<&IndexFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// As apt judges it: refused once past `Valid-Until` (unless
    /// `check_valid_until` is off) or with a `Date` ahead of `now`.
    pub fn check_fresh(
        &self,
        now: SystemTime,
        check_valid_until: bool,
    ) -> Result<(), ReleaseError> {
        let now = DateTime::<Utc>::from(now);
        let shown_now = || now.format(DEBIAN_DATE).to_string();
        if let Some(date) = &self.date {
            let at = parse_date("Date", date)?;
            if at > now + TimeDelta::minutes(FUTURE_SKEW_MINUTES) {
                return Err(ReleaseError::InTheFuture {
                    date: date.clone(),
                    now: shown_now(),
                });
            }
        }
        if let Some(valid_until) = &self.valid_until {
            let until = parse_date("Valid-Until", valid_until)?;
            if check_valid_until && until < now {
                return Err(ReleaseError::Expired {
                    valid_until: valid_until.clone(),
                    now: shown_now(),
                });
            }
        }
        Ok(())
    }
}

/// How Debian writes dates (RFC 2822 with `UTC` as the zone).
const DEBIAN_DATE: &str = "%a, %d %b %Y %H:%M:%S UTC";

/// A Release date: RFC 2822 as Debian writes it (`UTC` taken as `+0000`), or
/// the `asctime` form OBS's publisher writes (`Sat Nov 21 04:31:46 2026`, UTC).
pub fn date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let rfc2822 = match text.strip_suffix(" UTC") {
        Some(head) => DateTime::parse_from_rfc2822(&format!("{head} +0000")),
        None => DateTime::parse_from_rfc2822(text),
    };
    if let Ok(at) = rfc2822 {
        return Some(at.with_timezone(&Utc));
    }
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    NaiveDateTime::parse_from_str(&words, "%a %b %d %H:%M:%S %Y")
        .ok()
        .map(|at| at.and_utc())
}

fn parse_date(field: &'static str, value: &str) -> Result<DateTime<Utc>, ReleaseError> {
    date(value).ok_or_else(|| ReleaseError::BadDate {
        field,
        value: value.chars().take(80).collect(),
    })
}

pub fn parse(text: &str) -> Result<Release, ReleaseError> {
    let mut first: Option<Stanza> = None;
    stanza::read::<StanzaError>(text.as_bytes(), |s| {
        first.get_or_insert(s);
        Ok(())
    })
    .map_err(|e| ReleaseError::Syntax(e.to_string()))?;
    let stanza = first.unwrap_or_default();
    let sums = stanza.get("SHA256").ok_or(ReleaseError::NoSha256)?;
    let mut files = Vec::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [sha256, size, path] = parts[..] else {
            return Err(ReleaseError::BadLine(line.to_string()));
        };
        let valid_sha = sha256.len() == 64 && sha256.chars().all(|c| c.is_ascii_hexdigit());
        let Ok(size) = size.parse() else {
            return Err(ReleaseError::BadLine(line.to_string()));
        };
        if !valid_sha {
            return Err(ReleaseError::BadLine(line.to_string()));
        }
        files.push(IndexFile {
            path: path.to_string(),
            size,
            sha256: sha256.to_ascii_lowercase(),
        });
    }
    let field = |name: &str| stanza.get(name).map(|v| v.trim().to_string());
    Ok(Release {
        date: field("Date"),
        suite: field("Suite"),
        codename: field("Codename"),
        valid_until: field("Valid-Until"),
        by_hash: field("Acquire-By-Hash").is_some_and(|v| v.eq_ignore_ascii_case("yes")),
        files,
    })
}

/// The message of a clearsigned `InRelease` (RFC 4880 §7): between the armor
/// header's blank line and the signature, dash-escaping undone.
pub fn clearsigned_message(text: &str) -> Result<String, ReleaseError> {
    let mut lines = text.lines();
    let begin = lines.find(|l| !l.trim().is_empty());
    if begin.map(str::trim_end) != Some("-----BEGIN PGP SIGNED MESSAGE-----") {
        return Err(ReleaseError::NotClearsigned);
    }
    // Armor headers (`Hash: SHA512`) up to the first blank line.
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
    }
    let mut message = Vec::new();
    let mut signed = false;
    for line in lines {
        if line.trim_end() == "-----BEGIN PGP SIGNATURE-----" {
            signed = true;
            break;
        }
        message.push(line.strip_prefix("- ").unwrap_or(line));
    }
    if !signed {
        return Err(ReleaseError::NotClearsigned);
    }
    Ok(message.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/deb/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn reads_the_sha256_list_of_real_publisher_output() {
        let release = parse(&fixture("obs-published/Release")).unwrap();
        assert_eq!(release.files.len(), 2);
        let packages = release.file("Packages").unwrap();
        assert_eq!(packages.size, 6513);
        assert!(packages.sha256.starts_with("62d5fdbd"));
        assert!(release.file("Packages.gz").is_some());
        assert_eq!(release.date.as_deref(), Some("Sat Nov 21 04:31:46 2026"));
    }

    #[test]
    fn refuses_a_release_without_sha256_or_with_a_bad_line() {
        assert_eq!(
            parse("Origin: x\nMD5Sum:\n 00 1 Packages\n"),
            Err(ReleaseError::NoSha256)
        );
        assert!(matches!(
            parse("SHA256:\n nothex 1 Packages\n"),
            Err(ReleaseError::BadLine(_))
        ));
    }

    fn at(text: &str) -> SystemTime {
        date(text).unwrap().into()
    }

    #[test]
    fn dates_as_debian_and_obs_write_them() {
        let debian = date("Mon, 07 Dec 2026 08:12:33 UTC").unwrap();
        assert_eq!(debian.to_rfc3339(), "2026-12-07T08:12:33+00:00");
        assert_eq!(
            date("Mon, 7 Dec 2026 08:12:33 +0100").unwrap().to_rfc3339(),
            "2026-12-07T07:12:33+00:00"
        );
        let obs = date("Sun Nov  1 04:31:46 2026").unwrap();
        assert_eq!(obs.to_rfc3339(), "2026-11-01T04:31:46+00:00");
        assert_eq!(date("yesterday"), None);
    }

    #[test]
    fn freshness_as_apt_judges_it() {
        let release = parse(
            "Date: Sat, 05 Dec 2026 08:00:00 UTC\nValid-Until: Sat, 12 Dec 2026 08:00:00 UTC\nAcquire-By-Hash: yes\nSHA256:\n",
        )
        .unwrap();
        assert!(release.by_hash);
        let inside = at("Mon, 07 Dec 2026 00:00:00 UTC");
        assert_eq!(release.check_fresh(inside, true), Ok(()));
        let after = at("Sun, 13 Dec 2026 00:00:00 UTC");
        let expired = release.check_fresh(after, true).unwrap_err().to_string();
        assert!(
            expired.starts_with("it expired on Sat, 12 Dec 2026 08:00:00 UTC"),
            "{expired}"
        );
        assert_eq!(release.check_fresh(after, false), Ok(()));
        let skewed = at("Sat, 05 Dec 2026 07:55:00 UTC");
        assert_eq!(release.check_fresh(skewed, true), Ok(()));
        let before = at("Sat, 05 Dec 2026 07:49:00 UTC");
        assert!(matches!(
            release.check_fresh(before, true),
            Err(ReleaseError::InTheFuture { .. })
        ));
        let bad = parse("Date: soon\nSHA256:\n").unwrap();
        assert!(matches!(
            bad.check_fresh(inside, true),
            Err(ReleaseError::BadDate { field: "Date", .. })
        ));
    }

    #[test]
    fn the_message_of_a_clearsigned_release() {
        let text = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: x\n- -dashed\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n";
        assert_eq!(clearsigned_message(text).unwrap(), "Origin: x\n-dashed");
        assert_eq!(
            clearsigned_message("Origin: x\n"),
            Err(ReleaseError::NotClearsigned)
        );
    }
}
