//! Domain types shared by the sources, the target (Packagecloud), the planner
//! and the applier. Plain data: no I/O here.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Where a package lives on Packagecloud: `(distro/version, filename)`, for example
/// `("fedora/39", "hello-1.0-1.1.x86_64.rpm")`. The filename is the canonical name
/// Packagecloud derives from the package metadata, which is also how OBS names files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ArtifactKey {
    pub distro_version: String,
    pub filename: String,
}

impl ArtifactKey {
    pub fn new(distro_version: impl Into<String>, filename: impl Into<String>) -> Self {
        Self {
            distro_version: distro_version.into(),
            filename: filename.into(),
        }
    }
}

impl ArtifactKey {
    /// `distro/version/filename` as stored, for matching; [`fmt::Display`] is
    /// for people and escapes.
    pub fn path(&self) -> String {
        format!("{}/{}", self.distro_version, self.filename)
    }
}

/// Shown escaped: the parts come from OBS, Packagecloud or a plan file.
impl fmt::Display for ArtifactKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::display::text(&self.path()))
    }
}

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

/// One built file in the OBS build area:
/// `(project, repository, arch, package, filename)`; `package` may be `pkg:flavor`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObsOrigin {
    pub project: String,
    pub repository: String,
    pub arch: String,
    pub package: String,
    pub filename: String,
}

/// Shown escaped, as names from outside always are.
impl fmt::Display for ObsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = format!(
            "{}/{}/{}/{}/{}",
            self.project, self.repository, self.arch, self.package, self.filename
        );
        f.write_str(&crate::display::text(&raw))
    }
}

/// Where a source artifact comes from, in the terms of the source that offers
/// it. The plan records it (inside an upload's `source`), and apply hands it back
/// to that source to look at the file again and to fetch it. One variant per kind
/// of source; serialised without a tag, so each variant's fields must tell it apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Provenance {
    Obs(ObsBuilt),
}

impl Provenance {
    /// Where the file comes from, in a few words and unescaped (callers escape
    /// for their medium): for OBS `project/repository/arch/package`.
    pub fn place(&self) -> String {
        match self {
            Self::Obs(ObsBuilt { origin: o, .. }) => {
                format!("{}/{}/{}/{}", o.project, o.repository, o.arch, o.package)
            }
        }
    }
}

/// Shown escaped, as names from outside always are.
impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Obs(built) => built.origin.fmt(f),
        }
    }
}

/// A file in an OBS build area, and its mtime there: the build API lists no
/// checksum per file, so size and mtime are what tell a rebuild.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObsBuilt {
    #[serde(flatten)]
    pub origin: ObsOrigin,
    pub mtime: u64,
}

/// A file a source offers, under the Packagecloud key the config maps it to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceArtifact {
    pub key: ArtifactKey,
    pub package_type: PackageType,
    /// The copy chosen among all copies a source offers (for OBS, see
    /// `obs::inventory` for the rule).
    pub provenance: Provenance,
    pub size: u64,
    /// MD5 of the whole file, when the source lists it.
    pub md5: Option<String>,
    /// sha256 of the whole file, when the source lists it (OBS build areas do not).
    pub sha256: Option<String>,
}

/// Everything the source offers, keyed by Packagecloud identity, and how far
/// that knowledge reaches per `distro/version` (what deletes may rely on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceInventory {
    pub artifacts: BTreeMap<ArtifactKey, SourceArtifact>,
    pub coverage: BTreeMap<String, Coverage>,
}

/// What the configured sources cover for one `distro/version`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// File arches they build (`x86_64`, `amd64`, `noarch`, `all`, `src`, ...): a
    /// stored file of another arch cannot be theirs, so it is never an orphan.
    pub archs: std::collections::BTreeSet<String>,
    /// Why the build results are not a complete picture (a failed build, a missing
    /// or outdated result). Nothing in this `distro/version` may be deleted then.
    pub incomplete: Vec<String>,
}

/// File arches built on every scheduler arch, with bytes that differ per arch.
pub const ARCH_INDEPENDENT: [&str; 4] = ["noarch", "all", "src", "nosrc"];

/// A name that is safe as a path component and shows as itself: no separator,
/// no `..`, no control or bidi characters.
pub fn is_safe_filename(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && !name.contains("..")
        && !name.contains('/')
        && !name.contains('\\')
        && !name.chars().any(crate::display::is_invisible_control)
}

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

/// One package stored in the Packagecloud repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetPackage {
    pub key: ArtifactKey,
    /// `rpm`, `deb`, or whatever else the repository holds (`dsc`, `gem`, ...).
    pub package_type: String,
    /// sha256 of the stored file, when the listing gives it.
    pub sha256: Option<String>,
    /// md5 of the stored file: listings do not give it, so it is only read (from
    /// the package's details) when the config sets `sync.verify_unchanged`.
    pub md5: Option<String>,
    /// Site-relative path of the package's details (`package_url` in listings).
    pub details_path: Option<String>,
}

/// Everything the target holds, keyed by Packagecloud identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetInventory {
    pub packages: BTreeMap<ArtifactKey, TargetPackage>,
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
