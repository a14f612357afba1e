//! Builders shared by the plan tests: a config parsed from YAML as users write it
//! (so the policy and the effective config recorded in the plan agree), and
//! source/target inventory entries with realistic OBS and Packagecloud names.

use pkgsync::config::{Config, Environment};
use pkgsync::model::{
    ArtifactKey, Coverage, ObsBuilt, ObsOrigin, PackageType, Provenance, SourceArtifact,
    SourceInventory, TargetInventory, TargetPackage,
};
use pkgsync::plan::planner::PlanContext;
use pkgsync::plan::policy::Policy;
use std::path::Path;

/// OBS repository → Packagecloud `distro/version`, as the test config maps them.
pub const MAPPING: [(&str, &str); 3] = [
    ("Debian_12", "debian/12"),
    ("Fedora_39", "fedora/39"),
    ("Fedora_40", "fedora/40"),
];
/// Distro/versions the target holds that the config does not map.
pub const OUT_OF_SCOPE: [&str; 2] = ["el/9", "ubuntu/noble"];

#[derive(Debug, Clone)]
pub struct Settings {
    pub mirror: bool,
    pub protect: Vec<String>,
    pub max_deletes: usize,
    pub max_delete_percent: u32,
    pub replace: bool,
    pub source_packages: bool,
    pub debug_packages: bool,
    pub allow_deletes: Option<usize>,
    pub list_skips: bool,
    pub allow_downgrade: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mirror: true,
            protect: Vec::new(),
            max_deletes: 25,
            max_delete_percent: 10,
            replace: false,
            source_packages: false,
            debug_packages: false,
            allow_deletes: None,
            list_skips: false,
            allow_downgrade: false,
        }
    }
}

/// The config text for these settings.
pub fn config_yaml(s: &Settings) -> String {
    let mapping: String = MAPPING
        .iter()
        .map(|(repo, dv)| format!("  {repo}: {dv}\n"))
        .collect();
    format!(
        r#"obsprojects:
  "home:example":
    releases: [stable]
packagecloud:
  repo: example/testing
distro-mapping:
{mapping}  RHEL_9:
filters:
  source_packages: {source}
  debug_packages: {debug}
sync:
  mode: {mode}
  protect: {protect}
  max_deletes: {max_deletes}
  max_delete_percent: {pct}
  replace: {replace}
  allow_downgrade: {downgrade}
"#,
        source = s.source_packages,
        debug = s.debug_packages,
        mode = if s.mirror { "mirror" } else { "additive" },
        protect = serde_json::to_string(&s.protect).unwrap(),
        max_deletes = s.max_deletes,
        pct = s.max_delete_percent,
        replace = s.replace,
        downgrade = s.allow_downgrade,
    )
}

pub fn config(s: &Settings) -> Config {
    Config::parse(
        &config_yaml(s),
        Path::new("/etc/pkgsync/test-config.yaml"),
        &Environment::default(),
    )
    .expect("the test config is valid")
}

/// The policy and context `pkgsync plan` would derive from this config.
pub fn setup(s: &Settings) -> (Policy, PlanContext) {
    let config = config(s);
    let policy = Policy::new(&config, str::to_string, s.allow_deletes);
    let context = PlanContext {
        config: config.effective(),
        list_skips: s.list_skips,
        after: None,
    };
    (policy, context)
}

/// The kinds of file a repository may hold, by how OBS and Packagecloud name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rpm,
    NoarchRpm,
    Deb,
    Udeb,
    SrcRpm,
    NosrcRpm,
    Debuginfo,
    Debugsource,
    Dbgsym,
    Ddeb,
    Dsc,
    OrigTar,
    DebianTar,
    Gem,
    Changes,
}

pub const KINDS: [Kind; 15] = [
    Kind::Rpm,
    Kind::NoarchRpm,
    Kind::Deb,
    Kind::Udeb,
    Kind::SrcRpm,
    Kind::NosrcRpm,
    Kind::Debuginfo,
    Kind::Debugsource,
    Kind::Dbgsym,
    Kind::Ddeb,
    Kind::Dsc,
    Kind::OrigTar,
    Kind::DebianTar,
    Kind::Gem,
    Kind::Changes,
];

/// What a kind of file is to pkgsync, judged independently of `classify_filename`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syncs {
    Always,
    WithSourcePackages,
    WithDebugPackages,
    /// Another package type (`.dsc` and its tarballs, `.gem`) or not a package:
    /// pkgsync never uploads it, so it is never pkgsync's to delete.
    Never,
}

impl Kind {
    pub fn filename(self, name: &str, version: &str) -> String {
        match self {
            Kind::Rpm => format!("{name}-{version}.x86_64.rpm"),
            Kind::NoarchRpm => format!("{name}-doc-{version}.noarch.rpm"),
            Kind::Deb => format!("{name}_{version}_amd64.deb"),
            Kind::Udeb => format!("{name}-udeb_{version}_amd64.udeb"),
            Kind::SrcRpm => format!("{name}-{version}.src.rpm"),
            Kind::NosrcRpm => format!("{name}-{version}.nosrc.rpm"),
            Kind::Debuginfo => format!("{name}-debuginfo-{version}.x86_64.rpm"),
            Kind::Debugsource => format!("{name}-debugsource-{version}.x86_64.rpm"),
            Kind::Dbgsym => format!("{name}-dbgsym_{version}_amd64.deb"),
            Kind::Ddeb => format!("{name}-dbgsym_{version}_amd64.ddeb"),
            Kind::Dsc => format!("{name}_{version}.dsc"),
            Kind::OrigTar => format!("{name}_{version}.orig.tar.gz"),
            Kind::DebianTar => format!("{name}_{version}.debian.tar.xz"),
            Kind::Gem => format!("{name}-{version}.gem"),
            Kind::Changes => format!("{name}_{version}_amd64.changes"),
        }
    }

    pub fn syncs(self) -> Syncs {
        match self {
            Kind::Rpm | Kind::NoarchRpm | Kind::Deb => Syncs::Always,
            Kind::SrcRpm => Syncs::WithSourcePackages,
            Kind::Debuginfo | Kind::Debugsource | Kind::Dbgsym => Syncs::WithDebugPackages,
            // Not synced: Packagecloud would store a `.udeb` as a deb, a `.nosrc.rpm`
            // as `.src.rpm` and a `.ddeb` as `.deb`, under other names.
            Kind::Udeb
            | Kind::NosrcRpm
            | Kind::Ddeb
            | Kind::Dsc
            | Kind::OrigTar
            | Kind::DebianTar
            | Kind::Gem
            | Kind::Changes => Syncs::Never,
        }
    }

    /// Whether a config with these filters syncs (so uploads, so may delete) this kind.
    pub fn synced_by(self, s: &Settings) -> bool {
        match self.syncs() {
            Syncs::Always => true,
            Syncs::WithSourcePackages => s.source_packages,
            Syncs::WithDebugPackages => s.debug_packages,
            Syncs::Never => false,
        }
    }

    /// The type Packagecloud reports for a stored file of this kind.
    pub fn target_type(self) -> &'static str {
        match self {
            Kind::Rpm
            | Kind::NoarchRpm
            | Kind::SrcRpm
            | Kind::NosrcRpm
            | Kind::Debuginfo
            | Kind::Debugsource => "rpm",
            Kind::Deb | Kind::Udeb | Kind::Dbgsym | Kind::Ddeb => "deb",
            Kind::Dsc | Kind::OrigTar | Kind::DebianTar => "dsc",
            Kind::Gem => "gem",
            Kind::Changes => "anyfile",
        }
    }

    pub fn package_type(self) -> PackageType {
        match self.target_type() {
            "deb" => PackageType::Deb,
            _ => PackageType::Rpm,
        }
    }
}

/// The OBS repository a `distro/version` is mapped from.
pub fn repository_of(distro_version: &str) -> &'static str {
    MAPPING
        .iter()
        .find(|(_, dv)| *dv == distro_version)
        .map(|(repo, _)| *repo)
        .expect("source artifacts live in mapped distro/versions")
}

pub fn sha(seed: u64) -> String {
    blake3::hash(&seed.to_le_bytes()).to_hex().to_string()
}

pub fn source_artifact(
    distro_version: &str,
    kind: Kind,
    filename: &str,
    size: u64,
    sha256: Option<String>,
) -> SourceArtifact {
    // The name before the version: `hello` of `hello-1.0-1.1.x86_64.rpm`.
    let bytes = filename.as_bytes();
    let end = (0..bytes.len())
        .find(|&i| {
            bytes[i] == b'_'
                || (bytes[i] == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        })
        .unwrap_or(filename.len());
    let package = filename[..end].to_string();
    SourceArtifact {
        key: ArtifactKey::new(distro_version, filename),
        package_type: kind.package_type(),
        provenance: Provenance::Obs(ObsBuilt {
            origin: ObsOrigin {
                project: "home:example:stable".into(),
                repository: repository_of(distro_version).into(),
                arch: if kind == Kind::NoarchRpm {
                    "noarch".into()
                } else {
                    "x86_64".into()
                },
                package: package.into(),
                filename: filename.into(),
            },
            mtime: 1_700_000_000 + size,
        }),
        size: Some(size),
        md5: Some(format!("{:032x}", size * 7919)),
        sha256,
        sha1: None,
        sha512: None,
    }
}

pub fn target_package(
    distro_version: &str,
    kind: Kind,
    filename: &str,
    sha256: Option<String>,
) -> TargetPackage {
    TargetPackage {
        key: ArtifactKey::new(distro_version, filename),
        package_type: kind.target_type().into(),
        sha256,
        md5: None,
        details_path: None,
    }
}

/// A source inventory whose OBS repositories build every arch the test names use
/// for each mapped distro/version, with complete build results.
pub fn source_inventory(artifacts: impl IntoIterator<Item = SourceArtifact>) -> SourceInventory {
    let mut inventory = SourceInventory::default();
    for (_, distro_version) in MAPPING {
        inventory.coverage.insert(
            distro_version.to_string(),
            Coverage {
                archs: ["x86_64", "amd64", "noarch", "all", "src", "nosrc"]
                    .map(String::from)
                    .into(),
                incomplete: Vec::new(),
                every_arch: false,
                unsettled: Vec::new(),
            },
        );
    }
    for artifact in artifacts {
        let previous = inventory.artifacts.insert(artifact.key.clone(), artifact);
        assert!(previous.is_none(), "test inventories have unique keys");
    }
    inventory
}

pub fn target_inventory(packages: impl IntoIterator<Item = TargetPackage>) -> TargetInventory {
    let mut inventory = TargetInventory::default();
    for package in packages {
        let previous = inventory.packages.insert(package.key.clone(), package);
        assert!(previous.is_none(), "test inventories have unique keys");
    }
    inventory
}
