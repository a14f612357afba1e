//! The YAML config: parsing with line/column errors, validation, kata-pkgsync
//! compatibility (project-name expansion, null mappings), credentials from the
//! environment, and the secret-free "effective config" that plans record.
//!
//! Secrets live only in [`Secret`] values, whose `Debug` is redacted and which are
//! never serialised into the effective config.

mod effective;
mod promotion;
mod published;
mod raw;
mod repository_auth;
mod sections;

pub use crate::keyring::Keyring;
pub use crate::secret::Secret;
pub use effective::{
    EffectiveConfig, EffectiveDeb, EffectiveFilters, EffectiveGbs, EffectivePatterns,
    EffectivePromotion, EffectiveRpmMd,
};
pub use promotion::Promotion;
pub use repository_auth::PublishedAuth;
pub use sections::expand_project_names;

use crate::http::{Limits, RetryPolicy};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_OBS_URL: &str = "https://api.opensuse.org";
pub const DEFAULT_PACKAGECLOUD_URL: &str = "https://packagecloud.io";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config file `{path}`: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config file `{path}`: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Clock(String),
}

// ---------------------------------------------------------------- validated model

/// HTTP Basic credentials for OBS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObsCredentials {
    pub user: String,
    pub password: Secret,
}

/// One expanded OBS project (`<key>[:<arch>][:<release>]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObsProject {
    pub name: String,
    pub credentials: Option<ObsCredentials>,
}

/// Glob patterns as written, compiled once; the one pattern type of pkgsync.
#[derive(Debug, Clone)]
pub struct Patterns {
    written: Vec<String>,
    set: GlobSet,
}

impl Patterns {
    /// `key` names the config key in the error of a bad pattern.
    fn new(written: &[String], key: &str) -> Result<Self, String> {
        let mut set = GlobSetBuilder::new();
        for pattern in written {
            set.add(
                Glob::new(pattern).map_err(|e| format!("`{key}`: bad pattern `{pattern}`: {e}"))?,
            );
        }
        Ok(Self {
            written: written.to_vec(),
            set: set.build().map_err(|e| format!("`{key}`: {e}"))?,
        })
    }

    pub fn written(&self) -> &[String] {
        &self.written
    }

    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
    }

    /// Whether a pattern matches one of `names`.
    pub fn match_any(&self, names: &[&str]) -> bool {
        names.iter().any(|name| self.set.is_match(name))
    }
}

/// Include/exclude glob patterns; an empty include list means "everything".
#[derive(Debug, Clone)]
pub struct PatternFilter {
    pub include: Patterns,
    pub exclude: Patterns,
}

impl PatternFilter {
    fn new(raw: &raw::RawPatterns, what: &str) -> Result<Self, String> {
        Ok(Self {
            include: Patterns::new(&raw.include, &format!("filters.{what}.include"))?,
            exclude: Patterns::new(&raw.exclude, &format!("filters.{what}.exclude"))?,
        })
    }

    /// From patterns as written (`what` names the filter in an error).
    pub fn from_globs(include: &[&str], exclude: &[&str], what: &str) -> Result<Self, String> {
        let raw = raw::RawPatterns {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
        };
        Self::new(&raw, what)
    }

    /// Neither includes nor excludes: the filter is not set.
    pub fn is_unset(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    pub fn everything() -> Self {
        Self::new(&raw::RawPatterns::default(), "").expect("empty pattern sets always build")
    }

    /// A thing with these names (an arch by its OBS and its Debian name, say) is
    /// taken when an include pattern matches one of them (or there are none) and
    /// no exclude pattern matches any.
    pub fn admits(&self, names: &[&str]) -> bool {
        (self.include.is_empty() || self.include.match_any(names)) && !self.exclude.match_any(names)
    }
}

/// What to take from OBS.
#[derive(Debug, Clone)]
pub struct Filters {
    pub repositories: PatternFilter,
    pub architectures: PatternFilter,
    pub packages: PatternFilter,
    pub source_packages: bool,
    pub debug_packages: bool,
}

impl Default for Filters {
    fn default() -> Self {
        Self {
            repositories: PatternFilter::everything(),
            architectures: PatternFilter::everything(),
            packages: PatternFilter::everything(),
            source_packages: false,
            debug_packages: false,
        }
    }
}

/// Where the Packagecloud token came from, so a 401 can say where to look
/// without ever showing the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Environment,
    ConfigFile(PathBuf),
    PackagecloudFile(PathBuf),
    /// `PACKAGECLOUD_PROMOTE_TOKEN`: the promotion source's own token.
    PromoteEnvironment,
    /// `promote.auth.token` in this config file.
    PromoteConfigFile(PathBuf),
    Missing,
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => f.write_str("the `PACKAGECLOUD_TOKEN` environment variable"),
            Self::ConfigFile(p) => write!(f, "`packagecloud.auth.token` in `{}`", p.display()),
            Self::PackagecloudFile(p) => write!(f, "`{}`", p.display()),
            Self::PromoteEnvironment => {
                f.write_str("the `PACKAGECLOUD_PROMOTE_TOKEN` environment variable")
            }
            Self::PromoteConfigFile(p) => write!(f, "`promote.auth.token` in `{}`", p.display()),
            Self::Missing => f.write_str("nowhere (no token was given)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PackagecloudTarget {
    pub url: String,
    /// `<user>/<repo>`, as kata-pkgsync joined them.
    pub repo: String,
    pub token: Option<Secret>,
    pub token_source: TokenSource,
}

#[derive(Debug, Clone)]
pub struct ObsSettings {
    pub url: String,
    pub projects: Vec<ObsProject>,
    pub concurrency: usize,
    /// `obs.published`: the projects are read from their published
    /// repositories (entries in `rpm_md` and `deb`), not the build API.
    pub published: bool,
}

/// One published rpm-md repository (`rpm-md:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmMdRepository {
    /// Base URL: `repodata/repomd.xml` is below it.
    pub url: String,
    /// As written; the observe stage resolves it against Packagecloud.
    pub distro_version: String,
    /// The keys `repomd.xml.asc` must verify against; `None`: not checked.
    pub signed_by: Option<Keyring>,
    /// `allow_hosts`: hosts (`name` or `name:port`) other than the
    /// repository's that an `xml:base` or an absolute location may name.
    pub allow_hosts: Vec<String>,
    /// What its host is sent (`auth:`).
    pub auth: Option<PublishedAuth>,
}

/// One published Debian archive (`deb:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebRepository {
    /// The archive's root (a suite) or the repository's directory (flat).
    pub url: String,
    /// As written; the observe stage resolves it against Packagecloud.
    pub distro_version: String,
    /// `None` for a flat repository.
    pub suite: Option<String>,
    pub components: Vec<String>,
    pub architectures: Vec<String>,
    /// The keys `InRelease` or `Release.gpg` must verify against.
    pub signed_by: Option<Keyring>,
    /// What its host is sent (`auth:`).
    pub auth: Option<PublishedAuth>,
    /// Refuse a Release past its `Valid-Until` (apt's `Check-Valid-Until`).
    pub check_valid_until: bool,
}

/// One GBS snapshot tree (`gbs:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GbsTree {
    /// The tree: `builddata/build.xml` and `repos/` are below it. http(s),
    /// or `file://` for a tree on disk.
    pub url: String,
    /// GBS repo, or `repo/arch`, → `distro/version`; `None` skips it. A
    /// `repo/arch` entry wins over its `repo` entry.
    pub mapping: DistroMapping,
    /// The keys each repository's `repomd.xml.asc` must verify against.
    pub signed_by: Option<Keyring>,
    /// What its host is sent (`auth:`).
    pub auth: Option<PublishedAuth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplySettings {
    pub downloads: usize,
    pub uploads: usize,
}

/// The validated config.
#[derive(Debug, Clone)]
pub struct Config {
    pub obs: ObsSettings,
    pub packagecloud: PackagecloudTarget,
    /// OBS repository → `distro/version`; `None` = skip this repository.
    pub distro_mapping: DistroMapping,
    pub rpm_md: Vec<RpmMdRepository>,
    pub deb: Vec<DebRepository>,
    pub gbs: Vec<GbsTree>,
    /// `promote:`: another Packagecloud repository as the source.
    pub promote: Option<Promotion>,
    pub filters: Filters,
    pub policy_settings: PolicySettings,
    /// `sync.protect`, compiled.
    pub protect: Patterns,
    pub apply: ApplySettings,
    /// Bounds on every read (`limits:`); not part of the plan: they change how
    /// long pkgsync waits, not what it does.
    pub limits: Limits,
    pub warnings: Vec<String>,
    /// Facts worth a line on stderr (where credentials came from).
    pub notes: Vec<String>,
    /// The time freshness is judged at ([`Environment::clock`]).
    pub now: std::time::SystemTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// Upload what is missing; never delete.
    Additive,
    /// Also delete orphans: packages in scope that the source no longer has.
    Mirror,
}

/// Source repository → Packagecloud `distro/version`; `None` skips the repository.
pub type DistroMapping = BTreeMap<String, Option<String>>;

/// The sync rules of the `sync:` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySettings {
    pub mode: SyncMode,
    pub protect: Vec<String>,
    pub max_deletes: usize,
    pub max_delete_percent: u32,
    pub replace: bool,
    /// Compare the md5 of files present on both sides (one extra request per
    /// stored package), so a changed file under an unchanged name is found.
    /// Defaults to off when a plan written before this setting existed is read.
    #[serde(default)]
    pub verify_unchanged: bool,
    /// Let a mirror plan delete a package whose source now offers only older
    /// versions of it (a source gone backwards). Recorded only when on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_downgrade: bool,
}

pub const DEFAULT_MAX_DELETES: usize = 25;
pub const DEFAULT_MAX_DELETE_PERCENT: u32 = 10;

/// Environment variables the config reads; a struct so tests need not touch the
/// process environment.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub obs_user: Option<String>,
    pub obs_password: Option<String>,
    pub packagecloud_token: Option<String>,
    /// `PACKAGECLOUD_PROMOTE_TOKEN`: the token for `promote.from`, when it is not
    /// the target's.
    pub promote_token: Option<String>,
    /// The official CLI's `~/.packagecloud` file.
    pub packagecloud_file: Option<PathBuf>,
    /// osc's config, the last source of OBS credentials ([`crate::oscrc::locate`]).
    pub oscrc: Option<PathBuf>,
    /// How HTTP requests are retried (tests make the waits short).
    pub retry: RetryPolicy,
    /// Overrides how long a request waits for its answer (tests shorten it).
    pub read_timeout: Option<Duration>,
    /// Where `apply` keeps downloads and its journal unless told otherwise.
    pub cache_dir: PathBuf,
    /// `NO_COLOR` is set.
    pub no_color: bool,
    /// `http_proxy` and the like, to name the proxy in errors (reqwest reads them itself).
    pub proxies: crate::http::Proxies,
    /// The process environment, for the variables an `auth:` block names.
    pub variables: BTreeMap<String, String>,
    /// `$NETRC`, else `~/.netrc`.
    pub netrc: Option<PathBuf>,
    /// The time freshness is judged at (a Release's `Valid-Until` and `Date`).
    pub clock: Clock,
}

/// The time, read once where the environment is read (`Environment::from_process`), or
/// fixed by `PKGSYNC_NOW` (RFC 3339) for tests and reproductions.
#[derive(Debug, Clone)]
pub struct Clock {
    /// The time, or why `PKGSYNC_NOW` gives none.
    pub now: Result<std::time::SystemTime, String>,
    /// Set by `PKGSYNC_NOW` rather than read from the system.
    pub fixed: bool,
}

impl Config {
    /// Each published repository's URL with the credentials its host is sent.
    pub fn published_auth(&self) -> Vec<(&str, &crate::http::RepositoryAuth)> {
        let rpm_md = self.rpm_md.iter().map(|r| (&r.url, &r.auth));
        let deb = self.deb.iter().map(|r| (&r.url, &r.auth));
        let gbs = self.gbs.iter().map(|t| (&t.url, &t.auth));
        rpm_md
            .chain(deb)
            .chain(gbs)
            .filter_map(|(url, auth)| Some((url.as_str(), &auth.as_ref()?.spec)))
            .collect()
    }

    /// Every `distro/version` the config sends files to, as written.
    pub fn written_distros(&self) -> impl Iterator<Item = &String> {
        self.distro_mapping
            .values()
            .flatten()
            .chain(self.rpm_md.iter().map(|r| &r.distro_version))
            .chain(self.deb.iter().map(|r| &r.distro_version))
            .chain(self.gbs.iter().flat_map(|t| t.mapping.values().flatten()))
            .chain(
                self.promote
                    .iter()
                    .filter_map(|p| p.distros.as_ref())
                    .flat_map(|d| d.iter().flat_map(|(from, to)| [from, to])),
            )
    }

    pub fn load(path: &Path, env: &Environment) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, env)
    }

    pub fn parse(text: &str, path: &Path, env: &Environment) -> Result<Self, ConfigError> {
        let raw: raw::RawConfig = serde_yaml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let mut remarks = sections::Remarks::default();
        let now = env.clock.now.clone().map_err(ConfigError::Clock)?;
        if env.clock.fixed {
            let shown = chrono::DateTime::<chrono::Utc>::from(now)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            remarks.warnings.push(format!(
                "PKGSYNC_NOW fixes the clock at {shown}: freshness is judged at that time (meant for tests and reproductions)"
            ));
        }
        let obs = sections::obs(&raw, text, env, &mut remarks).map_err(invalid)?;
        let context = repository_auth::Context { config: path, env };
        let mut rpm_md = published::rpm_md(&raw.rpm_md, &context, &mut remarks).map_err(invalid)?;
        let mut deb = published::deb(&raw.deb, &context, &mut remarks).map_err(invalid)?;
        let distro_mapping =
            sections::distro_mapping(&raw.distro_mapping, "distro-mapping").map_err(invalid)?;
        let gbs = published::gbs(&raw.gbs, &context, &mut remarks).map_err(invalid)?;
        let filters = sections::filters(&raw.filters).map_err(invalid)?;
        sections::filters_apply(&filters, &rpm_md, &deb, raw.promote.is_some()).map_err(invalid)?;
        if obs.published {
            let (more_rpm_md, more_deb) = published::obs_published(
                &raw.obs,
                &obs,
                &distro_mapping,
                &filters.repositories,
                &context,
                &mut remarks,
            )
            .map_err(invalid)?;
            rpm_md.extend(more_rpm_md);
            deb.extend(more_deb);
        } else if raw.obs.published_auth.is_some() {
            return Err(invalid(
                "`obs.published_auth` has no effect without `obs.published: true`".to_string(),
            ));
        }
        repository_auth::one_per_host(
            (rpm_md.iter().map(|r| (r.url.as_str(), r.auth.as_ref())))
                .chain(deb.iter().map(|r| (r.url.as_str(), r.auth.as_ref())))
                .chain(gbs.iter().map(|t| (t.url.as_str(), t.auth.as_ref()))),
        )
        .map_err(invalid)?;
        if obs.projects.is_empty()
            && rpm_md.is_empty()
            && deb.is_empty()
            && gbs.is_empty()
            && raw.promote.is_none()
        {
            return Err(invalid(
                "the config names no source: list OBS projects under `obsprojects`, repositories under `rpm-md` or `deb`, trees under `gbs`, or a repository to `promote` from".to_string(),
            ));
        }
        let (policy_settings, protect) = sections::sync(&raw.sync, &filters).map_err(invalid)?;
        let packagecloud = sections::packagecloud(&raw.packagecloud, path, env).map_err(invalid)?;
        let promote = raw
            .promote
            .as_ref()
            .map(|p| promotion::promotion(p, &packagecloud, policy_settings.mode, path, env))
            .transpose()
            .map_err(invalid)?;
        Ok(Self {
            obs,
            packagecloud,
            promote,
            distro_mapping,
            rpm_md,
            deb,
            gbs,
            filters,
            policy_settings,
            protect,
            apply: sections::apply(&raw.apply).map_err(invalid)?,
            limits: sections::limits(&raw.limits).map_err(invalid)?,
            warnings: remarks.warnings,
            notes: remarks.notes,
            now,
        })
    }
}
