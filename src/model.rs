//! Domain types shared by the sources, the target (Packagecloud), the planner
//! and the applier. Plain data: no I/O here.

use crate::checksum::{Algorithm, Checksum};
pub use pkgfile::{
    ARCH_INDEPENDENT, FileClass, PackageType, binary_name, classify_filename, compare_versions,
    file_arch, synced_as,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

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

/// One built file in the OBS build area:
/// `(project, repository, arch, package, filename)`; `package` may be `pkg:flavor`.
/// The place is shared (`Arc<str>`) by every file built there: an inventory of
/// 40,000 files holds each project, repository, arch and package name once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObsOrigin {
    pub project: Arc<str>,
    pub repository: Arc<str>,
    pub arch: Arc<str>,
    pub package: Arc<str>,
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
    RpmMd(RpmMdFile),
    Deb(DebFile),
    Gbs(GbsFile),
    Promotion(PromotedFile),
}

impl Provenance {
    /// Where the file comes from, in a few words and unescaped (callers escape
    /// for their medium): for OBS `project/repository/arch/package`.
    pub fn place(&self) -> String {
        match self {
            Self::Obs(ObsBuilt { origin: o, .. }) => {
                format!("{}/{}/{}/{}", o.project, o.repository, o.arch, o.package)
            }
            // A compose on disk: the directory its link resolved to.
            Self::RpmMd(file) => file
                .resolved
                .clone()
                .unwrap_or_else(|| file.repository_url.clone()),
            Self::Deb(file) => file.archive.clone(),
            Self::Gbs(file) => format!(
                "{} (build {}) {}",
                file.resolved.as_deref().unwrap_or(&file.tree),
                file.build_id,
                file.repository
            ),
            Self::Promotion(file) => format!("{}/{}", file.repo, file.distro_version),
        }
    }
}

/// Shown escaped, as names from outside always are.
impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Obs(built) => built.origin.fmt(f),
            Self::RpmMd(file) => f.write_str(&crate::display::text(&file.url())),
            Self::Deb(file) => f.write_str(&crate::display::text(&file.url())),
            Self::Gbs(file) => {
                let shown = format!("{} (build {})", file.url(), file.build_id);
                f.write_str(&crate::display::text(&shown))
            }
            Self::Promotion(file) => f.write_str(&crate::display::text(&format!(
                "{}/{}/{}",
                file.repo, file.distro_version, file.filename
            ))),
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

/// A package of a published rpm-md repository, where its `primary` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RpmMdFile {
    /// The repository's base URL, as configured.
    pub repository_url: String,
    /// `location@href`.
    pub location: String,
    /// `location@xml:base`, when the repository names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_base: Option<String>,
    /// For a repository on disk, the directory its URL resolved to (symlinks
    /// followed) when planned: the files are read from there (format 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
}

impl RpmMdFile {
    /// Where the file is fetched from: the location below its base, or below
    /// the directory the repository resolved to.
    pub fn url(&self) -> String {
        // An absolute location (allowed by `allow_hosts`) is where the file is.
        if url::Url::parse(&self.location).is_ok() {
            return self.location.clone();
        }
        let base = self
            .location_base
            .as_deref()
            .or(self.resolved.as_deref())
            .unwrap_or(&self.repository_url);
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            self.location.trim_start_matches('/')
        )
    }
}

/// `host` or `host:port` of an http(s) URL, lowercase.
fn host_of(url: &url::Url) -> Option<(String, Option<u16>)> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some((host, url.port()))
}

/// The host `target` names when it is another than `repository`'s, shown as
/// `host[:port]`; `None` for the same host or a target that is not a URL of
/// its own (a relative location).
pub fn other_host(repository: &str, target: &str) -> Option<String> {
    let target = url::Url::parse(target).ok()?;
    if target.scheme() == "file" {
        return None;
    }
    let repository = url::Url::parse(repository).ok();
    let own = repository.as_ref().and_then(host_of);
    let (host, port) = host_of(&target).unwrap_or_default();
    let same = own.as_ref().is_some_and(|(h, p)| {
        *h == host
            && p.or(default_port(repository.as_ref())) == port.or(target.port_or_known_default())
    });
    if same {
        return None;
    }
    Some(match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

fn default_port(url: Option<&url::Url>) -> Option<u16> {
    url.and_then(url::Url::port_or_known_default)
}

/// A package of a published Debian archive, where its `Packages` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DebFile {
    /// The archive's URL, as configured.
    pub archive: String,
    /// `Filename:` below it, without a leading `./`.
    pub path: String,
}

impl DebFile {
    pub fn url(&self) -> String {
        format!("{}/{}", self.archive.trim_end_matches('/'), self.path)
    }
}

/// A package of a GBS tree: in the rpm-md repository
/// `repos/<repo>/<arch>/<packages|debug|source>` below the tree, of the build
/// build.xml named when planned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GbsFile {
    /// The tree's URL, as configured (`…/latest`).
    pub tree: String,
    /// build.xml's `<id>` when planned: a plan is pinned to it.
    pub build_id: String,
    /// For a tree on disk, the directory it resolved to when planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<String>,
    /// `repos/<repo>/<arch>/<kind>`, below the tree.
    pub repository: String,
    /// `location@href` in that repository.
    pub location: String,
}

impl GbsFile {
    /// Where the file is fetched from: below the directory planned from.
    pub fn url(&self) -> String {
        let tree = self.resolved.as_deref().unwrap_or(&self.tree);
        format!("{tree}/{}/{}", self.repository, self.location)
    }
}

/// How a promotion brings a package from one Packagecloud repository to
/// another: `copy` downloads and uploads it (the source repository stays as it
/// was); `move` is Packagecloud's promote call (the package leaves the source
/// repository and its download counts start again).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PromoteMethod {
    #[default]
    Copy,
    Move,
}

impl PromoteMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Copy => "copy",
            Self::Move => "move",
        }
    }
}

/// A package of another Packagecloud repository (a promotion's source), as
/// its listing names it, and how it is to be brought over.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PromotedFile {
    /// `user/repo`.
    pub repo: String,
    pub distro_version: String,
    pub filename: String,
    pub method: PromoteMethod,
}

/// A size for people: `123 bytes`, or that it is not known.
pub fn shown_size(size: Option<u64>) -> String {
    size.map_or_else(|| "size unknown".to_string(), |n| format!("{n} bytes"))
}

/// A file a source offers, under the Packagecloud key the config maps it to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceArtifact {
    pub key: ArtifactKey,
    pub package_type: PackageType,
    /// The copy chosen among all copies a source offers (for OBS, see
    /// `obs::inventory` for the rule).
    pub provenance: Provenance,
    /// Bytes, when the source lists them (a Packagecloud listing does not).
    pub size: Option<u64>,
    /// MD5 of the whole file, when the source lists it.
    pub md5: Option<String>,
    /// sha256 of the whole file, when the source lists it (OBS build areas do not).
    pub sha256: Option<String>,
    /// sha1 or sha512, when that is what the source lists instead (some rpm-md
    /// repositories).
    pub sha1: Option<String>,
    pub sha512: Option<String>,
}

impl SourceArtifact {
    /// The artifact with `checksum` in the field of its algorithm.
    pub fn with_checksum(mut self, checksum: Checksum) -> Self {
        let field = match checksum.algorithm {
            Algorithm::Md5 => &mut self.md5,
            Algorithm::Sha1 => &mut self.sha1,
            Algorithm::Sha256 => &mut self.sha256,
            Algorithm::Sha512 => &mut self.sha512,
        };
        *field = Some(checksum.hex);
        self
    }
}

/// Everything the source offers, keyed by Packagecloud identity, and how far
/// that knowledge reaches per `distro/version` (what deletes may rely on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceInventory {
    pub artifacts: BTreeMap<ArtifactKey, SourceArtifact>,
    pub coverage: BTreeMap<String, Coverage>,
    /// What each published repository's index said when it was read.
    pub read: Vec<IndexRead>,
    /// Keys listed again, with the same content, by further origins (a
    /// noarch rpm in two arch trees): one upload, every origin named.
    pub also_listed: BTreeMap<ArtifactKey, std::collections::BTreeSet<String>>,
}

/// One published repository's index as read: which one, a digest of its
/// bytes, and the revision or date it states. A plan records these.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndexRead {
    /// The index file's URL.
    pub url: String,
    /// `sha256:<hex>` of the index file (`repomd.xml`, `InRelease`, `Release`).
    pub digest: String,
    /// `repomd.xml`'s `revision`, or the Release's `Date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The Release's `Valid-Until` (format 1.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

/// What the configured sources cover for one `distro/version`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// File arches they build (`x86_64`, `amd64`, `noarch`, `all`, `src`, ...): a
    /// stored file of another arch cannot be theirs, so it is never an orphan.
    pub archs: std::collections::BTreeSet<String>,
    /// The source is the whole truth here (a Packagecloud repository): a stored
    /// file of any arch that it does not offer is an orphan.
    pub every_arch: bool,
    /// Why the build results are not a complete picture (a failed build, a missing
    /// or outdated result). Nothing in this `distro/version` may be deleted then.
    pub incomplete: Vec<String>,
    /// Unsettled builds whose binary names are known: each withholds only the
    /// deletes of stored files of those names.
    pub unsettled: Vec<UnsettledBuild>,
}

/// A build that is not settled (failed, building, ...) but whose build area
/// still lists what it produced: the binary package names it may produce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsettledBuild {
    pub reason: String,
    pub names: std::collections::BTreeSet<String>,
}

impl Coverage {
    /// Why a delete of `filename` must wait, or nothing: every reason when the
    /// whole picture is incomplete, else those of the unsettled builds that
    /// could have produced it.
    pub fn withholding(&self, filename: &str) -> Vec<&str> {
        if !self.incomplete.is_empty() {
            return self.incomplete.iter().map(String::as_str).collect();
        }
        let Some(name) = crate::model::binary_name(filename) else {
            return self.unsettled.iter().map(|u| u.reason.as_str()).collect();
        };
        self.unsettled
            .iter()
            .filter(|u| u.names.contains(name))
            .map(|u| u.reason.as_str())
            .collect()
    }
}

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
