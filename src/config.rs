//! The YAML config: parsing with line/column errors, validation, kata-pkgsync
//! compatibility (project-name expansion, null mappings), credentials from the
//! environment, and the secret-free "effective config" that plans record.
//!
//! Secrets live only in [`Secret`] values, whose `Debug` is redacted and which are
//! never serialised into the effective config.

pub use crate::secret::Secret;

use crate::display::ShownUrl;
use crate::http::{Limits, RetryPolicy};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
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
}

// ---------------------------------------------------------------- file model

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// kata-pkgsync's free text; accepted and ignored.
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<serde_yaml::Value>,
    #[serde(default)]
    obs: RawObs,
    obsprojects: BTreeMap<String, RawObsProject>,
    packagecloud: RawPackagecloud,
    #[serde(rename = "distro-mapping")]
    distro_mapping: BTreeMap<String, Option<String>>,
    #[serde(default)]
    filters: RawFilters,
    #[serde(default)]
    sync: RawSync,
    #[serde(default)]
    apply: RawApply,
    #[serde(default)]
    limits: RawLimits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObs {
    url: Option<String>,
    auth: Option<RawObsAuth>,
    concurrency: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObsAuth {
    user: Option<String>,
    password: Option<Secret>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObsProject {
    /// Parsed by kata-pkgsync and never used; accepted with a warning.
    name: Option<String>,
    auth: Option<RawObsAuth>,
    #[serde(default)]
    releases: Vec<String>,
    #[serde(default)]
    architectures: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackagecloud {
    url: Option<String>,
    #[serde(default)]
    auth: RawPackagecloudAuth,
    repo: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPackagecloudAuth {
    user: Option<String>,
    token: Option<Secret>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilters {
    #[serde(default)]
    repositories: RawPatterns,
    #[serde(default)]
    architectures: RawPatterns,
    #[serde(default)]
    packages: RawPatterns,
    #[serde(default)]
    source_packages: bool,
    #[serde(default)]
    debug_packages: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPatterns {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSync {
    mode: Option<SyncMode>,
    #[serde(default)]
    protect: Vec<String>,
    max_deletes: Option<usize>,
    max_delete_percent: Option<u32>,
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    verify_unchanged: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_metadata_mib: Option<u64>,
    request_timeout_secs: Option<u64>,
    min_bytes_per_second: Option<u64>,
    slow_seconds: Option<u64>,
    max_listed_packages: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApply {
    downloads: Option<usize>,
    uploads: Option<usize>,
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
    fn new(raw: &RawPatterns, what: &str) -> Result<Self, String> {
        Ok(Self {
            include: Patterns::new(&raw.include, &format!("filters.{what}.include"))?,
            exclude: Patterns::new(&raw.exclude, &format!("filters.{what}.exclude"))?,
        })
    }

    pub fn everything() -> Self {
        Self::new(&RawPatterns::default(), "").expect("empty pattern sets always build")
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
    Missing,
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Environment => f.write_str("the `PACKAGECLOUD_TOKEN` environment variable"),
            Self::ConfigFile(p) => write!(f, "`packagecloud.auth.token` in `{}`", p.display()),
            Self::PackagecloudFile(p) => write!(f, "`{}`", p.display()),
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
}

impl Config {
    pub fn load(path: &Path, env: &Environment) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, env)
    }

    pub fn parse(text: &str, path: &Path, env: &Environment) -> Result<Self, ConfigError> {
        let raw: RawConfig = serde_yaml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let mut warnings = Vec::new();
        let mut notes = Vec::new();
        let obs_url = normalise_url(raw.obs.url.as_deref().unwrap_or(DEFAULT_OBS_URL), "obs.url")
            .map_err(invalid)?;

        let env_obs_credentials = match (&env.obs_user, &env.obs_password) {
            (Some(user), Some(password)) => Some(ObsCredentials {
                user: user.clone(),
                password: Secret::new(password.clone()),
            }),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "`OBS_USER` and `OBS_PASSWORD` must be set together".to_string(),
                ));
            }
        };
        let global_obs_credentials =
            credentials_from(raw.obs.auth.as_ref(), "obs.auth").map_err(invalid)?;

        if raw.obsprojects.is_empty() {
            return Err(invalid("`obsprojects` lists no project".to_string()));
        }
        let mut projects = Vec::new();
        for (key, entry) in &raw.obsprojects {
            if entry.name.is_some() {
                let line = find_line(text, key, "name")
                    .map(|l| format!(" (line {l})"))
                    .unwrap_or_default();
                warnings.push(format!(
                    "`obsprojects.{key}.name`{line} is ignored, as kata-pkgsync ignored it"
                ));
            }
            let own = credentials_from(entry.auth.as_ref(), &format!("obsprojects.{key}.auth"))
                .map_err(invalid)?;
            let credentials = env_obs_credentials
                .clone()
                .or(own)
                .or_else(|| global_obs_credentials.clone());
            for name in expand_project_names(key, &entry.architectures, &entry.releases) {
                projects.push(ObsProject {
                    name,
                    credentials: credentials.clone(),
                });
            }
        }
        if projects.iter().any(|p| p.credentials.is_none())
            && let Some(oscrc) = &env.oscrc
        {
            let found = match osc_credentials(oscrc, &obs_url, &mut notes, &mut warnings) {
                Ok(found) => found,
                // A file osc itself may read differently is no reason to fail a
                // config that may need no credentials; a bad password is.
                Err(e @ crate::oscrc::OscrcError::File { .. }) => {
                    warnings.push(format!("{e}: going on without OBS credentials from it"));
                    None
                }
                Err(e) => return Err(invalid(e.to_string())),
            };
            for project in projects.iter_mut().filter(|p| p.credentials.is_none()) {
                project.credentials = found.clone();
            }
        }

        let mut distro_mapping = BTreeMap::new();
        for (repository, target) in raw.distro_mapping {
            let target = target
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty());
            if let Some(t) = &target {
                let valid = t.split('/').count() == 2 && t.split('/').all(|part| !part.is_empty());
                if !valid {
                    return Err(invalid(format!(
                        "`distro-mapping.{repository}`: `{t}` is not of the form `distro/version`"
                    )));
                }
            }
            distro_mapping.insert(repository, target);
        }

        let repo = match raw
            .packagecloud
            .auth
            .user
            .as_deref()
            .filter(|u| !u.is_empty())
        {
            Some(user) => format!("{user}/{}", raw.packagecloud.repo),
            None => raw.packagecloud.repo.clone(),
        };
        if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) {
            return Err(invalid(format!(
                "`packagecloud.repo`: `{repo}` must name `<user>/<repo>` (or set `packagecloud.auth.user`)"
            )));
        }
        let (token, token_source) = if let Some(token) = &env.packagecloud_token {
            (Some(Secret::new(token.clone())), TokenSource::Environment)
        } else if let Some(token) = raw.packagecloud.auth.token.filter(|t| !t.is_empty()) {
            (Some(token), TokenSource::ConfigFile(path.to_path_buf()))
        } else if let Some(found) = env
            .packagecloud_file
            .as_deref()
            .and_then(read_packagecloud_file)
        {
            (
                Some(found),
                TokenSource::PackagecloudFile(env.packagecloud_file.clone().unwrap_or_default()),
            )
        } else {
            (None, TokenSource::Missing)
        };

        let filters = Filters {
            repositories: PatternFilter::new(&raw.filters.repositories, "repositories")
                .map_err(invalid)?,
            architectures: PatternFilter::new(&raw.filters.architectures, "architectures")
                .map_err(invalid)?,
            packages: PatternFilter::new(&raw.filters.packages, "packages").map_err(invalid)?,
            source_packages: raw.filters.source_packages,
            debug_packages: raw.filters.debug_packages,
        };

        let protect = Patterns::new(&raw.sync.protect, "sync.protect").map_err(invalid)?;
        let max_delete_percent = raw
            .sync
            .max_delete_percent
            .unwrap_or(DEFAULT_MAX_DELETE_PERCENT);
        if max_delete_percent > 100 {
            return Err(invalid(format!(
                "`sync.max_delete_percent`: {max_delete_percent} is more than 100"
            )));
        }
        // A stored file's name does not say which OBS package built it, so with a
        // package filter an orphan cannot be told from a package left out.
        let package_filtered =
            !filters.packages.include.is_empty() || !filters.packages.exclude.is_empty();
        if raw.sync.mode == Some(SyncMode::Mirror) && package_filtered {
            return Err(invalid(
                "`sync.mode: mirror` cannot be combined with `filters.packages`: pkgsync cannot tell which OBS package a stored file came from, so it could delete packages the filter leaves out; use `additive`, or `sync.protect`".to_string(),
            ));
        }
        let policy_settings = PolicySettings {
            mode: raw.sync.mode.unwrap_or(SyncMode::Additive),
            protect: raw.sync.protect.clone(),
            max_deletes: raw.sync.max_deletes.unwrap_or(DEFAULT_MAX_DELETES),
            max_delete_percent,
            replace: raw.sync.replace,
            verify_unchanged: raw.sync.verify_unchanged,
        };

        let positive = |value: Option<usize>, default: usize, key: &str| match value {
            Some(0) => Err(invalid(format!("`{key}` must be at least 1"))),
            Some(n) => Ok(n),
            None => Ok(default),
        };
        let apply = ApplySettings {
            downloads: positive(raw.apply.downloads, 4, "apply.downloads")?,
            // Measured by tests/it/bench_scale.rs against the sandbox at 20 ms per
            // request: 65 files/s with 2, 101 with 4, no more with 8 or 16.
            uploads: positive(raw.apply.uploads, 4, "apply.uploads")?,
        };
        let limits = limits(&raw.limits).map_err(invalid)?;
        let obs = ObsSettings {
            url: obs_url,
            projects,
            concurrency: positive(raw.obs.concurrency, 4, "obs.concurrency")?,
        };
        let packagecloud = PackagecloudTarget {
            url: normalise_url(
                raw.packagecloud
                    .url
                    .as_deref()
                    .unwrap_or(DEFAULT_PACKAGECLOUD_URL),
                "packagecloud.url",
            )
            .map_err(invalid)?,
            repo,
            token,
            token_source,
        };

        Ok(Self {
            obs,
            packagecloud,
            distro_mapping,
            filters,
            policy_settings,
            protect,
            apply,
            limits,
            warnings,
            notes,
        })
    }

    /// Everything that decides what a plan contains, without secrets, credentials'
    /// presence aside. A plan records it; apply compares it with its own config.
    pub fn effective(&self) -> EffectiveConfig {
        let patterns = |f: &PatternFilter| EffectivePatterns {
            include: f.include.written().to_vec(),
            exclude: f.exclude.written().to_vec(),
        };
        EffectiveConfig {
            obs_url: self.obs.url.clone(),
            obs_projects: self.obs.projects.iter().map(|p| p.name.clone()).collect(),
            packagecloud_url: self.packagecloud.url.clone(),
            packagecloud_repo: self.packagecloud.repo.clone(),
            distro_mapping: self
                .distro_mapping
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()))
                .collect(),
            filters: EffectiveFilters {
                repositories: patterns(&self.filters.repositories),
                architectures: patterns(&self.filters.architectures),
                packages: patterns(&self.filters.packages),
                source_packages: self.filters.source_packages,
                debug_packages: self.filters.debug_packages,
            },
            sync: self.policy_settings.clone(),
        }
    }
}

/// The secret-free part of the config that shapes a plan, as recorded in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveConfig {
    pub obs_url: String,
    pub obs_projects: Vec<String>,
    pub packagecloud_url: String,
    pub packagecloud_repo: String,
    /// An empty value means "skip this OBS repository".
    pub distro_mapping: BTreeMap<String, String>,
    pub filters: EffectiveFilters,
    pub sync: PolicySettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveFilters {
    pub repositories: EffectivePatterns,
    pub architectures: EffectivePatterns,
    pub packages: EffectivePatterns,
    pub source_packages: bool,
    pub debug_packages: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectivePatterns {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl EffectiveConfig {
    /// `blake3:<hex>` over the canonical JSON of this value.
    pub fn digest(&self) -> String {
        let value = serde_json::to_value(self).expect("effective config serialises");
        crate::plan::file::digest(&crate::plan::file::canonical_compact(&value))
    }

    /// Human-readable differences, one `key: old → new` per line.
    pub fn differences(&self, other: &EffectiveConfig) -> Vec<String> {
        let left = flatten(&serde_json::to_value(self).expect("serialises"));
        let right = flatten(&serde_json::to_value(other).expect("serialises"));
        let keys: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
        keys.into_iter()
            .filter(|k| left.get(*k) != right.get(*k))
            .map(|k| {
                let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(absent)".into());
                format!("`{k}`: {} → {}", show(left.get(k)), show(right.get(k)))
            })
            .collect()
    }
}

fn flatten(value: &serde_json::Value) -> BTreeMap<String, String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", value, &mut out);
    out
}

/// kata-pkgsync's expansion: `K` + `:A` (each arch) + `:R` (each release); arch
/// comes before release; an absent list contributes nothing.
pub fn expand_project_names(
    key: &str,
    architectures: &[String],
    releases: &[String],
) -> Vec<String> {
    let optional = |list: &[String]| -> Vec<Option<String>> {
        if list.is_empty() {
            vec![None]
        } else {
            list.iter().map(|s| Some(s.clone())).collect()
        }
    };
    let mut names = Vec::new();
    for arch in optional(architectures) {
        for release in optional(releases) {
            let mut name = key.to_string();
            for part in [&arch, &release].into_iter().flatten() {
                name.push(':');
                name.push_str(part);
            }
            names.push(name);
        }
    }
    names
}

/// OBS credentials from osc's config for `obs_url`, saying where they came from
/// (or why a section for it could not be used).
fn osc_credentials(
    oscrc: &Path,
    obs_url: &str,
    notes: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<ObsCredentials>, crate::oscrc::OscrcError> {
    use crate::oscrc::Lookup;
    Ok(match crate::oscrc::lookup(oscrc, obs_url)? {
        Lookup::Found(found) => {
            notes.push(format!(
                "OBS credentials of `{}` from osc's config `{}`, section `[{}]`",
                found.user,
                oscrc.display(),
                found.section
            ));
            Some(ObsCredentials {
                user: found.user,
                password: found.password,
            })
        }
        Lookup::Unreadable { section, reason } => {
            warnings.push(format!(
                "osc's config `{}` has a section `[{section}]` for OBS, but {reason}: going on without OBS credentials",
                oscrc.display()
            ));
            None
        }
        Lookup::Nothing => None,
    })
}

fn credentials_from(
    auth: Option<&RawObsAuth>,
    key: &str,
) -> Result<Option<ObsCredentials>, String> {
    let Some(auth) = auth else { return Ok(None) };
    let user = auth.user.clone().filter(|u| !u.is_empty());
    let password = auth.password.clone().filter(|p| !p.is_empty());
    match (user, password) {
        (Some(user), Some(password)) => Ok(Some(ObsCredentials { user, password })),
        (None, None) => Ok(None),
        _ => Err(format!("`{key}` needs both `user` and `password`")),
    }
}

/// The `limits:` section over the defaults; zero is refused where it would mean
/// "no bound" or a busy loop.
fn limits(raw: &RawLimits) -> Result<Limits, String> {
    let defaults = Limits::default();
    let at_least_one = |value: Option<u64>, key: &str| match value {
        Some(0) => Err(format!("`limits.{key}` must be at least 1")),
        other => Ok(other),
    };
    let mib = at_least_one(raw.max_metadata_mib, "max_metadata_mib")?;
    let deadline = at_least_one(raw.request_timeout_secs, "request_timeout_secs")?;
    let window = at_least_one(raw.slow_seconds, "slow_seconds")?;
    let listed = at_least_one(
        raw.max_listed_packages.map(|n| n as u64),
        "max_listed_packages",
    )?;
    Ok(Limits {
        max_metadata_bytes: mib.map_or(defaults.max_metadata_bytes, |m| m.saturating_mul(1 << 20)),
        metadata_deadline: deadline.map_or(defaults.metadata_deadline, Duration::from_secs),
        min_rate: raw.min_bytes_per_second.unwrap_or(defaults.min_rate),
        rate_window: window.map_or(defaults.rate_window, Duration::from_secs),
        max_listed_packages: listed.map_or(defaults.max_listed_packages, |n| n as usize),
    })
}

/// An http(s) URL without credentials. Messages show it masked: a URL that
/// carries a password must not print it, even when it does not parse.
fn normalise_url(url: &str, key: &str) -> Result<String, String> {
    let shown = ShownUrl::new(url);
    if shown.has_credentials() {
        return Err(format!(
            "`{key}`: `{shown}` must not carry credentials; use the `auth` keys or the environment"
        ));
    }
    let parsed =
        url::Url::parse(url).map_err(|e| format!("`{key}`: `{shown}` is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("`{key}`: `{shown}` must be an http or https URL"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The official `package_cloud` CLI keeps `{"url": ..., "token": ...}` here.
fn read_packagecloud_file(path: &Path) -> Option<Secret> {
    #[derive(Deserialize)]
    struct CliFile {
        token: Option<String>,
    }
    let text = std::fs::read_to_string(path).ok()?;
    let file: CliFile = serde_json::from_str(&text).ok()?;
    file.token.filter(|t| !t.is_empty()).map(Secret::new)
}

/// Line number (1-based) of `child:` below the top-level entry `key:`, for warnings.
fn find_line(text: &str, key: &str, child: &str) -> Option<usize> {
    let mut lines = text.lines().enumerate();
    lines.find(|(_, l)| l.trim_start().starts_with(&format!("{key}:")))?;
    lines
        .find(|(_, l)| {
            let t = l.trim_start();
            t.starts_with(child) && t[child.len()..].trim_start().starts_with(':')
        })
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_puts_arch_before_release() {
        let names = expand_project_names(
            "home:katacontainers:releases",
            &["x86_64".into()],
            &["master".into(), "stable-1.5".into()],
        );
        assert_eq!(
            names,
            [
                "home:katacontainers:releases:x86_64:master",
                "home:katacontainers:releases:x86_64:stable-1.5"
            ]
        );
        assert_eq!(expand_project_names("home:x", &[], &[]), ["home:x"]);
        assert_eq!(
            expand_project_names("p", &["a".into(), "b".into()], &[]),
            ["p:a", "p:b"]
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
    }
}
