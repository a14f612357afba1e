//! Reading one rpm-md repository: `repodata/repomd.xml` (and its signature),
//! then the `primary` it names, fetched, verified against repomd's size and
//! sha256 and parsed as a stream; and the check of each listed package before
//! it becomes an artifact. Shared by `rpm-md:` repositories and the
//! repositories of a GBS tree.

use super::{RpmMdError, primary, repomd};
use crate::checksum::Checksum;
use crate::config::Keyring;
use crate::display::chain;
use crate::http::{Auth, HttpClient};
use crate::metadata::{self, Expected};
use crate::model::{IndexRead, PackageType};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What one read of a repository found.
pub struct Listing {
    pub packages: Vec<primary::Package>,
    pub read: IndexRead,
    /// The directory read: the configured URL, or for a `file://` URL the
    /// directory its symlinks resolved to when it was read.
    pub resolved: String,
}

/// A listing by location, for rechecks: where it was read and, per
/// `(location@href, location@xml:base)`, the size and checksum listed (none
/// for a checksum pkgsync does not verify by, which no plan holds).
pub struct Located {
    pub resolved: String,
    pub files: BTreeMap<(String, Option<String>), (u64, Checksum)>,
}

impl Listing {
    pub fn located(self) -> Located {
        let files = self
            .packages
            .into_iter()
            .filter_map(|p| {
                let checksum = Checksum::parse(&p.checksum.0, &p.checksum.1).ok()?;
                Some(((p.href, p.base), (p.size, checksum)))
            })
            .collect();
        Located {
            resolved: self.resolved,
            files,
        }
    }
}

/// Reads the repository at `url` (a `file://` URL is resolved first, once, and
/// everything is read below the resolved directory).
pub async fn read_repository(
    http: &HttpClient,
    url: &str,
    signed_by: Option<&Keyring>,
    allow_hosts: &[String],
) -> Result<Listing, RpmMdError> {
    read_below(http, url, resolve(url)?, signed_by, allow_hosts).await
}

/// The directory `url` names now, its links followed (see `http::resolve`).
pub fn resolve(url: &str) -> Result<String, RpmMdError> {
    crate::http::resolve(url).map_err(|e| RpmMdError::new(url, "", chain(&e)))
}

/// Reads the repository configured as `url` below `resolved`, the directory
/// [`resolve`] gave for it.
pub async fn read_below(
    http: &HttpClient,
    url: &str,
    resolved: String,
    signed_by: Option<&Keyring>,
    allow_hosts: &[String],
) -> Result<Listing, RpmMdError> {
    let fail = |file: &str, detail: String| RpmMdError::new(url, file, detail);
    let repomd_url = format!("{resolved}/repodata/repomd.xml");
    let (_, text) = http
        .get_text(&repomd_url, &Auth::None)
        .await
        .map_err(|e| fail("repodata/repomd.xml", chain(&e)))?;
    if let Some(keyring) = signed_by {
        let (_, signature) = http
            .get_text(&format!("{repomd_url}.asc"), &Auth::None)
            .await
            .map_err(|e| {
                let why = format!("cannot read the signature: {}", e.status_line());
                fail("repodata/repomd.xml.asc", why)
            })?;
        keyring
            .verify_detached(text.as_bytes(), signature.as_bytes())
            .map_err(|e| fail("repodata/repomd.xml.asc", e))?;
    }
    let index = repomd::parse(&text).map_err(|e| fail("repodata/repomd.xml", e.to_string()))?;
    let primary = &index.primary;
    let checksum = Checksum::parse(&primary.checksum.0, &primary.checksum.1)
        .map_err(|e| fail(&primary.href, format!("repomd.xml lists {e}")))?;
    if crate::source::unsafe_location(&primary.href) {
        return Err(fail(
            "repodata/repomd.xml",
            format!("unsafe location {:?} of the primary data", primary.href),
        ));
    }
    if let Some(base) = &primary.base
        && !may_base(url, &resolved, base)
    {
        return Err(fail("repodata/repomd.xml", local_base(base)));
    }
    if let Some(base) = &primary.base {
        super::hosts::allowed(url, base, allow_hosts)
            .map_err(|e| fail("repodata/repomd.xml", format!("its `xml:base` {e}")))?;
    }
    let base = primary.base.as_deref().unwrap_or(&resolved);
    let primary_url = format!("{}/{}", base.trim_end_matches('/'), primary.href);
    let expected = Expected {
        size: primary.size,
        checksum: Some(checksum),
    };
    let fetched = metadata::fetch(http, &primary_url, &Auth::None, &primary.href, &expected)
        .await
        .map_err(|e| fail(&primary.href, chain(&e)))?;
    let limit = http.limits.max_metadata_bytes;
    let limit = primary.open_size.map_or(limit, |s| s.min(limit).max(1));
    let parsed = fetched
        .parse_all(limit, |input, each| primary::read(input, each))
        .await;
    let packages = parsed.map_err(|detail| fail(&primary.href, detail))?;
    let mut bases = packages.iter().filter_map(|p| p.base.as_deref());
    if let Some(base) = bases.find(|b| !may_base(url, &resolved, b)) {
        return Err(fail(&primary.href, local_base(base)));
    }
    for package in &packages {
        super::hosts::package_allowed(url, package, allow_hosts)
            .map_err(|detail| fail(&primary.href, detail))?;
    }
    Ok(Listing {
        packages,
        read: IndexRead {
            url: repomd_url,
            digest: format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes()))),
            revision: index.revision,
            valid_until: None,
        },
        resolved,
    })
}

/// A remote repository's metadata never sends pkgsync to the local disk, and
/// a repository on disk never outside its own directory (`resolved`): an
/// `xml:base` may name a `file://` directory only below the repository's.
fn may_base(repository: &str, resolved: &str, base: &str) -> bool {
    let Some(base) = crate::http::local_path(base) else {
        return true;
    };
    let (Some(_), Some(root)) = (
        crate::http::local_path(repository),
        crate::http::local_path(resolved),
    ) else {
        return false;
    };
    std::fs::canonicalize(base).is_ok_and(|base| base.starts_with(root))
}

fn local_base(base: &str) -> String {
    format!(
        "`xml:base` `{}` names a local directory, which only a repository on disk may, below its own; refused",
        crate::display::text(base)
    )
}

/// The name, type and checksum a listed package is synced with, `None` for
/// one the config does not sync; an unsafe name or location, or a checksum
/// pkgsync does not verify by, is an error (`Err` holds the detail).
pub fn synced(
    package: &primary::Package,
    source_packages: bool,
    debug_packages: bool,
) -> Result<Option<(String, PackageType, Checksum)>, String> {
    for (what, name) in [("package name", &package.name), ("arch", &package.arch)] {
        crate::source::safe_component("primary", what, name)?;
    }
    let filename = package.canonical_filename();
    crate::source::safe_component("primary", "package file name", &filename)?;
    if crate::source::unsafe_location(&package.href) {
        return Err(format!(
            "`primary` names the unsafe location {:?} for `{}`; refused",
            crate::display::text(&package.href),
            crate::display::text(&filename)
        ));
    }
    let Some(package_type) = crate::model::synced_as(&filename, source_packages, debug_packages)
    else {
        return Ok(None);
    };
    let checksum = Checksum::parse(&package.checksum.0, &package.checksum.1)
        .map_err(|e| format!("`{filename}` is listed with {e}"))?;
    Ok(Some((filename, package_type, checksum)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_xml_base_must_stay_below_the_repository() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("pool")).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        let url = |p: &std::path::Path| url::Url::from_directory_path(p).unwrap().to_string();
        let (repository, resolved) = (url(&repo), url(&repo).trim_end_matches('/').to_string());
        assert!(may_base(&repository, &resolved, &url(&repo.join("pool"))));
        assert!(!may_base(
            &repository,
            &resolved,
            &url(&dir.path().join("elsewhere"))
        ));
        assert!(may_base(
            &repository,
            &resolved,
            "https://mirror.example/repo/"
        ));
        // A remote repository never names the disk.
        assert!(!may_base(
            "https://example.org/repo",
            "https://example.org/repo",
            &url(&repo)
        ));
    }
}
