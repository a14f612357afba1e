//! The sections of published repositories: `rpm-md:`, `deb:`, and the
//! `obs.published` shorthand that derives them from `obsprojects` and
//! `distro-mapping`; each with its `signed_by` keys.

use super::raw::{RawDeb, RawGbs, RawObs, RawRepositoryAuth, RawRpmMd};
use super::repository_auth::{Context, repository_auth};
use super::sections::{Remarks, distro_mapping, distro_version, normalise_url};
use super::{
    DebRepository, DistroMapping, GbsTree, ObsSettings, PatternFilter, PublishedAuth,
    RpmMdRepository,
};
use crate::display::ShownUrl;
use crate::keyring::Keyring;
use std::path::Path;

/// The download server kata's and most OBS projects publish to.
pub const DEFAULT_DOWNLOAD_URL: &str = "https://download.opensuse.org/repositories";

/// `obs.published: true`: every project's mapped repositories as published
/// repositories, at `<download_url>/<project, ":" as ":/">/<repository>`. A
/// repository mapped to a Debian-family distro is read as a flat Debian
/// repository, any other as rpm-md.
pub(super) fn obs_published(
    raw: &RawObs,
    obs: &ObsSettings,
    mapping: &DistroMapping,
    repositories: &PatternFilter,
    context: &Context<'_>,
    remarks: &mut Remarks,
) -> Result<(Vec<RpmMdRepository>, Vec<DebRepository>), String> {
    let base = normalise_url(
        raw.download_url.as_deref().unwrap_or(DEFAULT_DOWNLOAD_URL),
        "obs.download_url",
    )?;
    let path = context.config;
    let auth = repository_auth(
        raw.published_auth.as_ref(),
        &base,
        "obs.published_auth",
        context,
    )?;
    let mut rpm_md = Vec::new();
    let mut deb = Vec::new();
    for project in &obs.projects {
        for (repository, target) in mapping {
            let Some(distro_version) = target.clone() else {
                continue;
            };
            if !repositories.admits(&[repository]) {
                continue;
            }
            let url = format!("{base}/{}/{repository}", project.name.replace(':', ":/"));
            let key = format!("obs.published ({}/{repository})", project.name);
            let signed_by = keyring(raw.signed_by.as_deref(), path, &key, &url, remarks)?;
            let family = distro_version.split('/').next().unwrap_or_default();
            if DEB_FAMILIES.contains(&family) {
                deb.push(DebRepository {
                    url,
                    distro_version,
                    suite: None,
                    components: Vec::new(),
                    architectures: Vec::new(),
                    signed_by,
                    auth: auth.clone(),
                    check_valid_until: true,
                });
            } else {
                rpm_md.push(RpmMdRepository {
                    url,
                    distro_version,
                    signed_by,
                    allow_hosts: Vec::new(),
                    auth: auth.clone(),
                });
            }
        }
    }
    Ok((rpm_md, deb))
}

/// Packagecloud's Debian-family distros; OBS publishes their repositories flat.
const DEB_FAMILIES: [&str; 5] = ["debian", "ubuntu", "raspbian", "linuxmint", "elementaryos"];

/// `rpm-md:`: each repository's base URL (no credentials in it) and the
/// `distro/version` it goes to. One repository twice would offer every file twice.
pub(super) fn rpm_md(
    raw: &[RawRpmMd],
    context: &Context<'_>,
    remarks: &mut Remarks,
) -> Result<Vec<RpmMdRepository>, String> {
    let mut repositories: Vec<RpmMdRepository> = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let key = format!("rpm-md[{i}]");
        let url = location(&entry.url, &format!("{key}.url"))?;
        let distro_version = distro_version(&entry.distro, &format!("{key}.distro"))?;
        if repositories.iter().any(|r| r.url == url) {
            return Err(format!(
                "`{key}.url`: `{}` is listed twice",
                ShownUrl::new(&url)
            ));
        }
        for host in &entry.allow_hosts {
            if host.is_empty()
                || host.contains(['/', '@', ' '])
                || host.chars().any(char::is_control)
            {
                return Err(format!(
                    "`{key}.allow_hosts`: {:?} is not a host (`name` or `name:port`)",
                    crate::display::text(host)
                ));
            }
        }
        let (signed_by, auth) = trust(
            entry.signed_by.as_deref(),
            entry.auth.as_ref(),
            &url,
            &key,
            context,
            remarks,
        )?;
        repositories.push(RpmMdRepository {
            url,
            distro_version,
            signed_by,
            allow_hosts: entry
                .allow_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            auth,
        });
    }
    Ok(repositories)
}

/// A tree's or repository's location: an http(s) URL, a `file://` URL, or an
/// absolute path (made a `file://` URL), without a trailing slash. A path is
/// taken as written: symlinks in it (`latest-*`) are resolved when it is read,
/// so that the plan names the directory it was made from.
pub(super) fn location(written: &str, key: &str) -> Result<String, String> {
    let written = written.trim();
    let path = Path::new(written);
    if path.is_absolute() {
        let url = url::Url::from_directory_path(path)
            .map_err(|()| format!("`{key}`: `{written}` is not a usable path"))?;
        return Ok(url.as_str().trim_end_matches('/').to_string());
    }
    if written.starts_with("file:") {
        let local = crate::http::local_path(written)
            .filter(|p| p.is_absolute())
            .ok_or_else(|| format!("`{key}`: `{written}` is not a `file:///absolute/path` URL"))?;
        return location(&local.to_string_lossy(), key);
    }
    if !written.contains("://") {
        return Err(format!(
            "`{key}`: `{written}` is neither a URL nor an absolute path"
        ));
    }
    normalise_url(written, key)
}

/// `gbs:`: each tree's location and its mapping of GBS repos (or
/// `repo/arch`, the arch as build.xml or rpm names it) to `distro/version`s.
pub(super) fn gbs(
    raw: &[RawGbs],
    context: &Context<'_>,
    remarks: &mut Remarks,
) -> Result<Vec<GbsTree>, String> {
    let mut trees: Vec<GbsTree> = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let key = format!("gbs[{i}]");
        let url = location(&entry.url, &format!("{key}.url"))?;
        if trees.iter().any(|t| t.url == url) {
            return Err(format!(
                "`{key}.url`: `{}` is listed twice",
                ShownUrl::new(&url)
            ));
        }
        if entry.mapping.is_empty() {
            return Err(format!(
                "`{key}.mapping`: map the tree's repos to `distro/version`s"
            ));
        }
        for name in entry.mapping.keys() {
            // build.xml's names are plain words; a key of more parts can
            // never match one.
            let parts: Vec<&str> = name.split('/').collect();
            let ok = parts.len() <= 2 && parts.iter().all(|p| !p.trim().is_empty());
            if !ok {
                return Err(format!(
                    "`{key}.mapping`: `{name}` is neither a repo nor `repo/arch`"
                ));
            }
        }
        let mapping = distro_mapping(&entry.mapping, &format!("{key}.mapping"))?;
        let (signed_by, auth) = trust(
            entry.signed_by.as_deref(),
            entry.auth.as_ref(),
            &url,
            &key,
            context,
            remarks,
        )?;
        trees.push(GbsTree {
            url,
            mapping,
            signed_by,
            auth,
        });
    }
    Ok(trees)
}

/// `deb:`: each archive's URL, its layout (flat, or a suite with components
/// and architectures) and the `distro/version` it goes to.
pub(super) fn deb(
    raw: &[RawDeb],
    context: &Context<'_>,
    remarks: &mut Remarks,
) -> Result<Vec<DebRepository>, String> {
    let mut repositories: Vec<DebRepository> = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let key = format!("deb[{i}]");
        let url = location(&entry.url, &format!("{key}.url"))?;
        let distro_version = distro_version(&entry.distro, &format!("{key}.distro"))?;
        let suite = entry
            .suite
            .as_deref()
            .map(|s| s.trim().trim_matches('/'))
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let plain = |list: &[String], what: &str| -> Result<Vec<String>, String> {
            let names: Vec<String> = list.iter().map(|n| n.trim().to_string()).collect();
            if names.iter().any(|n| n.is_empty() || n.contains(['/', '.'])) {
                return Err(format!("`{key}.{what}`: names must be plain words"));
            }
            Ok(names)
        };
        let components = plain(&entry.components, "components")?;
        let architectures = plain(&entry.architectures, "architectures")?;
        match &suite {
            Some(_) if components.is_empty() || architectures.is_empty() => {
                return Err(format!(
                    "`{key}`: a suite needs `components` and `architectures` (which `Packages` to read)"
                ));
            }
            None if !components.is_empty() || !architectures.is_empty() => {
                return Err(format!(
                    "`{key}`: a flat repository (no `suite`) has no `components` or `architectures`"
                ));
            }
            _ => {}
        }
        if suite.as_deref().is_some_and(|s| s.contains("..")) {
            return Err(format!("`{key}.suite`: `..` is not a suite"));
        }
        if repositories
            .iter()
            .any(|r| r.url == url && r.suite == suite)
        {
            return Err(format!(
                "`{key}`: `{}` is listed twice",
                ShownUrl::new(&url)
            ));
        }
        let (signed_by, auth) = trust(
            entry.signed_by.as_deref(),
            entry.auth.as_ref(),
            &url,
            &key,
            context,
            remarks,
        )?;
        if !entry.check_valid_until {
            remarks.warnings.push(format!(
                "`{key}.check_valid_until: false`: `{}` is read even when its Release has expired (a mirror frozen or replayed goes unnoticed)",
                ShownUrl::new(&url)
            ));
        }
        repositories.push(DebRepository {
            url,
            distro_version,
            suite,
            components,
            architectures,
            signed_by,
            auth,
            check_valid_until: entry.check_valid_until,
        });
    }
    Ok(repositories)
}

/// An entry's `signed_by` keys and `auth` credentials, each checked.
fn trust(
    signed_by: Option<&Path>,
    auth: Option<&RawRepositoryAuth>,
    url: &str,
    key: &str,
    context: &Context<'_>,
    remarks: &mut Remarks,
) -> Result<(Option<Keyring>, Option<PublishedAuth>), String> {
    let keys = keyring(signed_by, context.config, key, url, remarks)?;
    Ok((keys, repository_auth(auth, url, key, context)?))
}

/// The keys of `signed_by` (relative to the config file), or a warning that
/// the repository's metadata is taken without a signature.
fn keyring(
    signed_by: Option<&Path>,
    config: &Path,
    key: &str,
    url: &str,
    remarks: &mut Remarks,
) -> Result<Option<Keyring>, String> {
    let Some(file) = signed_by else {
        remarks.warnings.push(format!(
            "`{key}` (`{}`) has no `signed_by`: its metadata is not verified by a signature",
            ShownUrl::new(url)
        ));
        return Ok(None);
    };
    let file = config.parent().unwrap_or(Path::new(".")).join(file);
    Keyring::load(&file)
        .map(Some)
        .map_err(|e| format!("`{key}.signed_by`: {e}"))
}
