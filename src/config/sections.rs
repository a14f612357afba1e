//! One validating function per section of the config file: each takes its raw
//! section and gives the validated value, or a message naming the key.

use super::raw::{
    RawApply, RawConfig, RawFilters, RawLimits, RawObs, RawObsAuth, RawObsProject, RawPackagecloud,
    RawSync,
};
use super::{
    ApplySettings, DEFAULT_MAX_DELETE_PERCENT, DEFAULT_MAX_DELETES, DEFAULT_OBS_URL,
    DEFAULT_PACKAGECLOUD_URL, DebRepository, DistroMapping, Environment, Filters, ObsCredentials,
    ObsProject, ObsSettings, PackagecloudTarget, PatternFilter, Patterns, PolicySettings,
    RpmMdRepository, Secret, SyncMode, TokenSource,
};
use crate::display::ShownUrl;
use crate::http::Limits;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// What validating one file found besides its values.
#[derive(Debug, Default)]
pub(super) struct Remarks {
    pub(super) warnings: Vec<String>,
    pub(super) notes: Vec<String>,
}

/// `obs:` and `obsprojects:`: the projects, each with its credentials (the
/// environment's, else its own, else `obs.auth`'s, else osc's config).
pub(super) fn obs(
    raw: &RawConfig,
    text: &str,
    env: &Environment,
    remarks: &mut Remarks,
) -> Result<ObsSettings, String> {
    let url = normalise_url(raw.obs.url.as_deref().unwrap_or(DEFAULT_OBS_URL), "obs.url")?;
    let mut projects = projects(&raw.obs, &raw.obsprojects, text, env, remarks)?;
    if projects.iter().any(|p| p.credentials.is_none())
        && let Some(oscrc) = &env.oscrc
    {
        let found = match osc_credentials(oscrc, &url, remarks) {
            Ok(found) => found,
            // A file osc itself may read differently is no reason to fail a
            // config that may need no credentials; a bad password is.
            Err(e @ crate::oscrc::OscrcError::File { .. }) => {
                remarks
                    .warnings
                    .push(format!("{e}: going on without OBS credentials from it"));
                None
            }
            Err(e) => return Err(e.to_string()),
        };
        for project in projects.iter_mut().filter(|p| p.credentials.is_none()) {
            project.credentials = found.clone();
        }
    }
    Ok(ObsSettings {
        url,
        projects,
        concurrency: at_least_one(raw.obs.concurrency, 4, "obs.concurrency")?,
        published: raw.obs.published,
    })
}

/// Each `obsprojects` entry, expanded as kata-pkgsync does.
fn projects(
    obs: &RawObs,
    entries: &BTreeMap<String, RawObsProject>,
    text: &str,
    env: &Environment,
    remarks: &mut Remarks,
) -> Result<Vec<ObsProject>, String> {
    let from_env = match (&env.obs_user, &env.obs_password) {
        (Some(user), Some(password)) => Some(ObsCredentials {
            user: user.clone(),
            password: Secret::new(password.clone()),
        }),
        (None, None) => None,
        _ => return Err("`OBS_USER` and `OBS_PASSWORD` must be set together".to_string()),
    };
    let global = credentials_from(obs.auth.as_ref(), "obs.auth")?;
    let mut projects = Vec::new();
    for (key, entry) in entries {
        if entry.name.is_some() {
            let line = find_line(text, key, "name")
                .map(|l| format!(" (line {l})"))
                .unwrap_or_default();
            remarks.warnings.push(format!(
                "`obsprojects.{key}.name`{line} is ignored, as kata-pkgsync ignored it"
            ));
        }
        let own = credentials_from(entry.auth.as_ref(), &format!("obsprojects.{key}.auth"))?;
        let credentials = from_env.clone().or(own).or_else(|| global.clone());
        for name in expand_project_names(key, &entry.architectures, &entry.releases) {
            projects.push(ObsProject {
                name,
                credentials: credentials.clone(),
            });
        }
    }
    Ok(projects)
}

/// A `distro/version` as written: two non-empty parts.
pub(super) fn distro_version(value: &str, key: &str) -> Result<String, String> {
    let value = value.trim();
    let valid = value.split('/').count() == 2 && value.split('/').all(|part| !part.is_empty());
    if !valid {
        return Err(format!(
            "`{key}`: `{value}` is not of the form `distro/version`"
        ));
    }
    Ok(value.to_string())
}

/// `distro-mapping:`: each target `distro/version`, or nothing (skip).
pub(super) fn distro_mapping(
    raw: &BTreeMap<String, Option<String>>,
    key: &str,
) -> Result<DistroMapping, String> {
    let mut mapping = BTreeMap::new();
    for (repository, target) in raw {
        let target = target
            .as_ref()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        if let Some(t) = &target {
            distro_version(t, &format!("{key}.{repository}"))?;
        }
        mapping.insert(repository.clone(), target);
    }
    Ok(mapping)
}

/// `packagecloud:`: the repository and where its token comes from (the
/// environment, the config file, the official CLI's `~/.packagecloud`).
pub(super) fn packagecloud(
    raw: &RawPackagecloud,
    path: &Path,
    env: &Environment,
) -> Result<PackagecloudTarget, String> {
    let repo = match raw.auth.user.as_deref().filter(|u| !u.is_empty()) {
        Some(user) => format!("{user}/{}", raw.repo),
        None => raw.repo.clone(),
    };
    if repo.split('/').count() != 2 || repo.split('/').any(str::is_empty) {
        return Err(format!(
            "`packagecloud.repo`: `{repo}` must name `<user>/<repo>` (or set `packagecloud.auth.user`)"
        ));
    }
    let (token, token_source) = if let Some(token) = &env.packagecloud_token {
        (Some(Secret::new(token.clone())), TokenSource::Environment)
    } else if let Some(token) = raw.auth.token.clone().filter(|t| !t.is_empty()) {
        (Some(token), TokenSource::ConfigFile(path.to_path_buf()))
    } else if let Some(file) = &env.packagecloud_file
        && let Some(found) = read_packagecloud_file(file)
    {
        (Some(found), TokenSource::PackagecloudFile(file.clone()))
    } else {
        (None, TokenSource::Missing)
    };
    Ok(PackagecloudTarget {
        url: normalise_url(
            raw.url.as_deref().unwrap_or(DEFAULT_PACKAGECLOUD_URL),
            "packagecloud.url",
        )?,
        repo,
        token,
        token_source,
    })
}

/// `filters:`, every pattern compiled.
pub(super) fn filters(raw: &RawFilters) -> Result<Filters, String> {
    Ok(Filters {
        repositories: PatternFilter::new(&raw.repositories, "repositories")?,
        architectures: PatternFilter::new(&raw.architectures, "architectures")?,
        packages: PatternFilter::new(&raw.packages, "packages")?,
        source_packages: raw.source_packages,
        debug_packages: raw.debug_packages,
    })
}

/// Every filter that is set must act on every configured source it could be
/// meant for, never be ignored. `filters.repositories` names OBS and GBS
/// repositories (and those `obs.published` reads); an `rpm-md`/`deb` entry
/// or a promotion has no repository names, so there it would select nothing.
pub(super) fn filters_apply(
    filters: &Filters,
    rpm_md: &[RpmMdRepository],
    deb: &[DebRepository],
    promote: bool,
) -> Result<(), String> {
    if filters.repositories.is_unset() {
        return Ok(());
    }
    let unnamed: Vec<&str> = [
        (!rpm_md.is_empty()).then_some("`rpm-md`"),
        (!deb.is_empty()).then_some("`deb`"),
        promote.then_some("`promote`"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if unnamed.is_empty() {
        return Ok(());
    }
    Err(format!(
        "`filters.repositories` selects OBS and GBS repositories by name, and would have no effect on the {} entries: list there only the repositories to sync (`deb` also takes `components`), or drop the filter",
        unnamed.join(" and ")
    ))
}

/// `sync:`, and its `protect` patterns compiled.
pub(super) fn sync(raw: &RawSync, filters: &Filters) -> Result<(PolicySettings, Patterns), String> {
    let protect = Patterns::new(&raw.protect, "sync.protect")?;
    let max_delete_percent = raw.max_delete_percent.unwrap_or(DEFAULT_MAX_DELETE_PERCENT);
    if max_delete_percent > 100 {
        return Err(format!(
            "`sync.max_delete_percent`: {max_delete_percent} is more than 100"
        ));
    }
    // A stored file's name does not say which OBS package built it, so with a
    // package filter an orphan cannot be told from a package left out.
    let package_filtered =
        !filters.packages.include.is_empty() || !filters.packages.exclude.is_empty();
    if raw.mode == Some(SyncMode::Mirror) && package_filtered {
        return Err(
            "`sync.mode: mirror` cannot be combined with `filters.packages`: pkgsync cannot tell which OBS package a stored file came from, so it could delete packages the filter leaves out; use `additive`, or `sync.protect`".to_string(),
        );
    }
    let settings = PolicySettings {
        mode: raw.mode.unwrap_or(SyncMode::Additive),
        protect: raw.protect.clone(),
        max_deletes: raw.max_deletes.unwrap_or(DEFAULT_MAX_DELETES),
        max_delete_percent,
        replace: raw.replace,
        verify_unchanged: raw.verify_unchanged,
        allow_downgrade: raw.allow_downgrade,
    };
    Ok((settings, protect))
}

/// `apply:`.
pub(super) fn apply(raw: &RawApply) -> Result<ApplySettings, String> {
    Ok(ApplySettings {
        downloads: at_least_one(raw.downloads, 4, "apply.downloads")?,
        // Measured by tests/it/bench_scale.rs against the sandbox at 20 ms per
        // request: 65 files/s with 2, 101 with 4, no more with 8 or 16.
        uploads: at_least_one(raw.uploads, 4, "apply.uploads")?,
    })
}

fn at_least_one(value: Option<usize>, default: usize, key: &str) -> Result<usize, String> {
    match value {
        Some(0) => Err(format!("`{key}` must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(default),
    }
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
    remarks: &mut Remarks,
) -> Result<Option<ObsCredentials>, crate::oscrc::OscrcError> {
    use crate::oscrc::Lookup;
    Ok(match crate::oscrc::lookup(oscrc, obs_url)? {
        Lookup::Found(found) => {
            remarks.notes.push(format!(
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
            remarks.warnings.push(format!(
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

/// `limits:` over the defaults; zero is refused where it would mean
/// "no bound" or a busy loop.
pub(super) fn limits(raw: &RawLimits) -> Result<Limits, String> {
    let defaults = Limits::default();
    let at_least_one = |value: Option<u64>, key: &str| match value {
        Some(0) => Err(format!("`limits.{key}` must be at least 1")),
        other => Ok(other),
    };
    let mib = at_least_one(raw.max_metadata_mib, "max_metadata_mib")?;
    let result_mib = at_least_one(raw.max_result_mib, "max_result_mib")?;
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
        max_result_bytes: result_mib
            .map_or(defaults.max_result_bytes, |m| m.saturating_mul(1 << 20)),
    })
}

/// An http(s) URL without credentials. Messages show it masked: a URL that
/// carries a password must not print it, even when it does not parse.
pub(super) fn normalise_url(url: &str, key: &str) -> Result<String, String> {
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
