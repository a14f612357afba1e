//! What pkgsync knows about package files, apart from any service: the package
//! types it syncs, what a file is judged by its name (and so whether it is ever
//! uploaded or deleted), and the identity an rpm's or deb's own metadata gives
//! it ([`read_identity`]), which is the name Packagecloud stores it under.
//!
//! No I/O other than reading a package file.

mod meta;

pub use meta::*;

use serde::{Deserialize, Serialize};
use std::fmt;

/// Package format, derived from the filename suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageType {
    Rpm,
    Deb,
}

impl PackageType {
    pub fn from_filename(filename: &str) -> Option<Self> {
        if filename.ends_with(".rpm") {
            Some(Self::Rpm)
        } else if filename.ends_with(".deb") {
            Some(Self::Deb)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rpm => "rpm",
            Self::Deb => "deb",
        }
    }
}

impl fmt::Display for PackageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// File arches built on every scheduler arch, with bytes that differ per arch.
pub const ARCH_INDEPENDENT: [&str; 4] = ["noarch", "all", "src", "nosrc"];

/// The arch a package filename names: `N-V-R.<arch>.rpm` (`src`, `nosrc` for
/// source rpms), `name_version_<arch>.deb` (also `.ddeb`).
pub fn file_arch(filename: &str) -> Option<&str> {
    if let Some(stem) = filename.strip_suffix(".rpm") {
        return stem
            .rsplit_once('.')
            .map(|(_, arch)| arch)
            .filter(|a| !a.is_empty());
    }
    let stem = filename
        .strip_suffix(".deb")
        .or_else(|| filename.strip_suffix(".ddeb"))?;
    stem.rsplit_once('_')
        .map(|(_, arch)| arch)
        .filter(|a| !a.is_empty())
}

/// The binary package name a package filename gives: `N` of `N-V-R.<arch>.rpm`,
/// `name` of `name_version_<arch>.deb` (also `.ddeb`).
pub fn binary_name(filename: &str) -> Option<&str> {
    if let Some(stem) = filename.strip_suffix(".rpm") {
        let (nvr, _arch) = stem.rsplit_once('.')?;
        let (nv, _release) = nvr.rsplit_once('-')?;
        let (name, _version) = nv.rsplit_once('-')?;
        return Some(name).filter(|n| !n.is_empty());
    }
    let stem = filename
        .strip_suffix(".deb")
        .or_else(|| filename.strip_suffix(".ddeb"))?;
    let (name, _) = stem.split_once('_')?;
    Some(name).filter(|n| !n.is_empty())
}

/// The version a package filename gives, without its epoch (filenames carry
/// none): `V-R` of `N-V-R.<arch>.rpm`, `version` of `name_version_<arch>.deb`.
fn filename_version(filename: &str) -> Option<&str> {
    if let Some(stem) = filename.strip_suffix(".rpm") {
        let (nvr, _arch) = stem.rsplit_once('.')?;
        let (nv, release) = nvr.rsplit_once('-')?;
        let (_name, version) = nv.rsplit_once('-')?;
        return Some(&nvr[nvr.len() - version.len() - release.len() - 1..]);
    }
    let stem = filename
        .strip_suffix(".deb")
        .or_else(|| filename.strip_suffix(".ddeb"))?;
    let mut parts = stem.split('_');
    let (_name, version) = (parts.next()?, parts.next()?);
    Some(version)
}

/// How the version of package file `a` compares with `b`'s, when both are
/// the same package (name, arch and type) and their versions parse: rpm's
/// EVR order, Debian's version order.
pub fn compare_versions(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    let same_package = binary_name(a)? == binary_name(b)?
        && file_arch(a)? == file_arch(b)?
        && PackageType::from_filename(a)? == PackageType::from_filename(b)?;
    if !same_package {
        return None;
    }
    let (va, vb) = (filename_version(a)?, filename_version(b)?);
    match PackageType::from_filename(a)? {
        PackageType::Rpm => Some(rpm::rpm_evr_compare(va, vb)),
        PackageType::Deb => {
            let va: debversion::Version = va.parse().ok()?;
            let vb: debversion::Version = vb.parse().ok()?;
            Some(va.cmp(&vb))
        }
    }
}

/// What a file in an OBS build area (or on Packagecloud) is, judged by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileClass {
    /// An installable rpm or deb.
    Binary(PackageType),
    /// `.src.rpm`, `.nosrc.rpm`, `.dsc` and the tarballs that go with it.
    Source,
    /// `-debuginfo`/`-debugsource` rpms, `-dbgsym` debs, `.ddeb`.
    Debug(PackageType),
    /// Build metadata, logs, reports and anything else that is not a package.
    Other,
}

/// The package type pkgsync syncs a file as, given whether source and debug
/// packages are wanted; `None` for anything it never uploads (so never deletes).
/// Packagecloud stores a file under the name its metadata gives, so only files
/// whose metadata gives back their own name qualify: not `.nosrc.rpm` (stored as
/// `.src.rpm`), not `.ddeb` (stored as `.deb`), not `.dsc` (needs its tarballs).
pub fn synced_as(
    filename: &str,
    source_packages: bool,
    debug_packages: bool,
) -> Option<PackageType> {
    match classify_filename(filename) {
        FileClass::Binary(t) => Some(t),
        FileClass::Debug(t) if debug_packages && !filename.ends_with(".ddeb") => Some(t),
        FileClass::Source if source_packages && filename.ends_with(".src.rpm") => {
            Some(PackageType::Rpm)
        }
        _ => None,
    }
}

/// Classifies by suffix, allow-list style: only names that end like a package are
/// packages, so new kinds of OBS metadata files never turn into uploads.
pub fn classify_filename(filename: &str) -> FileClass {
    if filename.ends_with(".src.rpm") || filename.ends_with(".nosrc.rpm") {
        return FileClass::Source;
    }
    if filename.ends_with(".dsc")
        || filename.contains(".tar.")
        || filename.ends_with(".diff.gz")
        || filename.ends_with(".tar")
    {
        return FileClass::Source;
    }
    if filename.ends_with(".ddeb") {
        return FileClass::Debug(PackageType::Deb);
    }
    if filename.starts_with('_') || filename.starts_with("::") {
        return FileClass::Other;
    }
    // `.udeb` (installer packages) is not synced: Packagecloud stores debs.
    let Some(package_type) = PackageType::from_filename(filename) else {
        return FileClass::Other;
    };
    let is_debug = match package_type {
        PackageType::Rpm => filename.contains("-debuginfo-") || filename.contains("-debugsource-"),
        PackageType::Deb => filename
            .split('_')
            .next()
            .is_some_and(|name| name.ends_with("-dbgsym")),
    };
    if is_debug {
        FileClass::Debug(package_type)
    } else {
        FileClass::Binary(package_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_come_from_both_naming_schemes() {
        assert_eq!(
            binary_name("kata-agent-3.2.0-1.1.x86_64.rpm"),
            Some("kata-agent")
        );
        assert_eq!(binary_name("hello_2.10-3_amd64.deb"), Some("hello"));
        assert_eq!(
            binary_name("hello-dbgsym_2.10-3_amd64.ddeb"),
            Some("hello-dbgsym")
        );
        assert_eq!(binary_name("broken.rpm"), None);
    }

    #[test]
    fn versions_compare_as_rpm_and_dpkg_order_them() {
        use std::cmp::Ordering::*;
        let cmp = compare_versions;
        assert_eq!(
            cmp("a-1.10-1.x86_64.rpm", "a-1.9-1.x86_64.rpm"),
            Some(Greater)
        );
        assert_eq!(
            cmp("a-1.0-1~rc1.x86_64.rpm", "a-1.0-1.x86_64.rpm"),
            Some(Less)
        );
        assert_eq!(cmp("a-1.0-1.x86_64.rpm", "a-1.0-1.aarch64.rpm"), None);
        assert_eq!(cmp("a-b-1.0-1.x86_64.rpm", "a-1.0-1.x86_64.rpm"), None);
        assert_eq!(
            cmp("a_1.0~rc1-1_amd64.deb", "a_1.0-1_amd64.deb"),
            Some(Less)
        );
        assert_eq!(
            cmp("a_1.0-10_amd64.deb", "a_1.0-9_amd64.deb"),
            Some(Greater)
        );
        assert_eq!(cmp("a_1.0-1_amd64.deb", "b_0.1-1_amd64.deb"), None);
    }

    #[test]
    fn classifies_obs_build_area_files() {
        use FileClass::*;
        use PackageType::*;
        let cases = [
            ("hello-1.0-1.1.x86_64.rpm", Binary(Rpm)),
            ("hello-1.0-1.1.noarch.rpm", Binary(Rpm)),
            ("hello_1.0-1.1_all.deb", Binary(Deb)),
            ("hello-1.0-1.1.src.rpm", Source),
            ("hello-1.0-1.1.nosrc.rpm", Source),
            ("hello_1.0-1.1.dsc", Source),
            ("hello_1.0.orig.tar.gz", Source),
            ("hello-debuginfo-1.0-1.1.x86_64.rpm", Debug(Rpm)),
            ("hello-debugsource-1.0-1.1.x86_64.rpm", Debug(Rpm)),
            ("hello-dbgsym_1.0-1.1_amd64.deb", Debug(Deb)),
            ("hello-dbgsym_1.0-1.1_amd64.ddeb", Debug(Deb)),
            ("_buildenv", Other),
            ("_statistics", Other),
            ("_channel", Other),
            ("rpmlint.log", Other),
            ("image.report", Other),
            ("image.sha256", Other),
            ("image.containerinfo", Other),
            ("hello_1.0-1.1_amd64.changes", Other),
            ("hello-udeb_1.0-1.1_amd64.udeb", Other),
            ("hello_1.0-1.1_amd64.buildinfo", Other),
        ];
        for (name, class) in cases {
            assert_eq!(classify_filename(name), class, "{name}");
        }
    }

    #[test]
    fn only_files_stored_under_their_own_name_are_synced() {
        assert_eq!(
            synced_as("a-1-1.x86_64.rpm", false, false),
            Some(PackageType::Rpm)
        );
        assert_eq!(synced_as("a-1-1.src.rpm", false, false), None);
        assert_eq!(
            synced_as("a-1-1.src.rpm", true, false),
            Some(PackageType::Rpm)
        );
        assert_eq!(synced_as("a-1-1.nosrc.rpm", true, true), None);
        assert_eq!(
            synced_as("a-dbgsym_1-1_amd64.deb", false, true),
            Some(PackageType::Deb)
        );
        assert_eq!(synced_as("a-dbgsym_1-1_amd64.ddeb", true, true), None);
        assert_eq!(synced_as("a_1-1.dsc", true, true), None);
        assert_eq!(synced_as("a-udeb_1-1_amd64.udeb", true, true), None);
    }

    #[test]
    fn file_arch_comes_from_the_name() {
        assert_eq!(file_arch("hello-1.0-1.1.x86_64.rpm"), Some("x86_64"));
        assert_eq!(file_arch("hello-1.0-1.1.noarch.rpm"), Some("noarch"));
        assert_eq!(file_arch("hello-1.0-1.1.src.rpm"), Some("src"));
        assert_eq!(file_arch("hello_1.0-1.1_arm64.deb"), Some("arm64"));
        assert_eq!(file_arch("hello_1.0-1.1_all.deb"), Some("all"));
        assert_eq!(file_arch("hello-dbgsym_1.0-1.1_amd64.ddeb"), Some("amd64"));
        assert_eq!(file_arch("hello-1.0-1.1.nosrc.rpm"), Some("nosrc"));
        assert_eq!(file_arch("README"), None);
    }
}
