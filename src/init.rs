//! `pkgsync init`: writes a first config from what OBS and Packagecloud hold,
//! with a proposed `distro-mapping` for every repository of the projects.
//!
//! OBS names repositories by family (`xUbuntu_22.04` or `Ubuntu_22.04`, `Debian_12`, `Fedora_39`,
//! `openSUSE_Leap_15.5`, `SLE_15_SP5`, `CentOS_8_Stream`, ...); [`candidates`]
//! turns a name into the Packagecloud `distro/version`s it may mean, and only one
//! that Packagecloud's distributions list counts as a sure match. A repository
//! without one is written mapped to nothing (so the config plans as written),
//! with the closest names in a comment. No secret is written: credentials stay in
//! the environment, the pkgsync config's `auth` keys or osc's config.

use crate::cli::InitArgs;
use crate::commands::http_client;
use crate::config::{Config, Environment};
use crate::exit::{Exit, Failure};
use crate::obs::client::ObsClient;
use crate::obs::xml::ProjectMeta;
use crate::packagecloud::{DistroError, DistroIndex, PackagecloudClient};
use anyhow::{Context as _, anyhow};
use std::fmt::Write as _;

/// A repository's proposed target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    /// Packagecloud lists this `distro/version`.
    Sure(String),
    /// No candidate is listed; these are the closest names.
    Unsure(Vec<String>),
}

/// The `distro/version`s an OBS repository name may mean, most likely first, or
/// a single guess to find close names for when the family is known but has no
/// numbered release (`openSUSE_Tumbleweed`, `Fedora_Rawhide`).
pub fn candidates(repository: &str) -> Vec<String> {
    let number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.');
    let whole = |dist: &str, n: &str| vec![format!("{dist}/{n}"), format!("{dist}/{n}.0")];
    if let Some(n) = repository
        .strip_prefix("xUbuntu_")
        .or_else(|| repository.strip_prefix("Ubuntu_"))
        .filter(|n| number(n))
    {
        return vec![format!("ubuntu/{n}")];
    }
    for (prefix, dist) in [("Debian_", "debian"), ("Raspbian_", "raspbian")] {
        if let Some(n) = repository.strip_prefix(prefix).filter(|n| number(n)) {
            return whole(dist, n);
        }
    }
    if let Some(n) = repository.strip_prefix("Fedora_").filter(|n| number(n)) {
        return vec![format!("fedora/{n}")];
    }
    if let Some(n) = repository
        .strip_prefix("openSUSE_Leap_")
        .or_else(|| repository.strip_prefix("openSUSE_"))
        .filter(|n| number(n))
    {
        return vec![format!("opensuse/{n}")];
    }
    if let Some(rest) = repository.strip_prefix("SLE_") {
        let (major, sp) = rest.split_once("_SP").unwrap_or((rest, "0"));
        if number(major) && number(sp) {
            return vec![format!("sles/{major}.{sp}")];
        }
    }
    // Enterprise Linux rebuilds and their Stream / EPEL variants: `el/<major>`.
    for prefix in [
        "CentOS_Stream_",
        "CentOS_",
        "RHEL_",
        "AlmaLinux_",
        "RockyLinux_",
        "Rocky_",
        "EPEL_",
        "ScientificLinux_",
    ] {
        if let Some(rest) = repository.strip_prefix(prefix) {
            let major = rest.trim_end_matches("_Stream");
            if number(major) && !major.contains('.') {
                return vec![format!("el/{major}")];
            }
        }
    }
    let guess = match repository {
        "openSUSE_Tumbleweed" | "openSUSE_Factory" => "opensuse/tumbleweed",
        "Fedora_Rawhide" => "fedora/rawhide",
        "Debian_Testing" => "debian/testing",
        "Debian_Unstable" => "debian/sid",
        other => return vec![other.to_ascii_lowercase().replace('_', "/")],
    };
    vec![guess.to_string()]
}

/// The first candidate Packagecloud lists, in its index-name spelling.
pub fn propose(repository: &str, index: &DistroIndex) -> Proposal {
    let candidates = candidates(repository);
    for candidate in &candidates {
        if let Ok(name) = index.canonical_name(candidate) {
            return Proposal::Sure(name.to_string());
        }
    }
    match index.canonical_name(&candidates[0]) {
        Err(DistroError::Unknown { closest, .. }) => Proposal::Unsure(closest),
        _ => Proposal::Unsure(Vec::new()),
    }
}

pub async fn init(args: &InitArgs, env: &Environment) -> Result<Exit, Failure> {
    if args.out.exists() && !args.force {
        return Err(Failure::error(anyhow!(
            "`{}` exists; pkgsync init does not overwrite it without `--force`",
            args.out.display()
        )));
    }
    // A config without a mapping gives the clients, with credentials resolved
    // the usual way (environment, osc's config, `~/.packagecloud`).
    let skeleton = render(args, &[], &[]);
    let config = Config::parse(&skeleton, &args.out, env).map_err(Failure::error)?;
    let http = http_client(&config, env);
    let obs = ObsClient::new(http.clone(), &config.obs.url);
    let packagecloud = PackagecloudClient::new(http, &config.packagecloud);
    let index = packagecloud.distributions().await.map_err(Failure::error)?;
    let mut metas = Vec::new();
    for project in &config.obs.projects {
        metas.push(obs.project_meta(project).await.map_err(Failure::error)?);
    }
    let mut mapping: Vec<(String, Vec<String>, Proposal)> = Vec::new();
    for meta in &metas {
        for repository in &meta.repositories {
            match mapping
                .iter_mut()
                .find(|(name, ..)| *name == repository.name)
            {
                Some((_, archs, _)) => archs.extend(repository.archs.iter().cloned()),
                None => mapping.push((
                    repository.name.clone(),
                    repository.archs.clone(),
                    propose(&repository.name, &index),
                )),
            }
        }
    }
    mapping.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, archs, _) in &mut mapping {
        archs.sort();
        archs.dedup();
    }
    let text = render(args, &metas, &mapping);
    // What init writes must load as it is.
    Config::parse(&text, &args.out, env)
        .map_err(|e| Failure::error(anyhow!("pkgsync init wrote an invalid config: {e}")))?;
    std::fs::write(&args.out, &text)
        .with_context(|| format!("cannot write `{}`", args.out.display()))
        .map_err(Failure::error)?;
    let unsure: Vec<&str> = mapping
        .iter()
        .filter(|(.., p)| matches!(p, Proposal::Unsure(_)))
        .map(|(name, ..)| name.as_str())
        .collect();
    eprintln!(
        "Config written to `{}`: {} repositories mapped, {} without a sure match.",
        args.out.display(),
        mapping.len() - unsure.len(),
        unsure.len()
    );
    if !unsure.is_empty() {
        eprintln!(
            "Not mapped (left empty, so not synced; the config names the closest distributions): {}",
            unsure.join(", ")
        );
    }
    eprintln!(
        "Next: `pkgsync check --config {0}`, then `pkgsync plan --config {0}`.",
        args.out.display()
    );
    Ok(Exit::Success)
}

/// The config text: deterministic, commented, without secrets.
fn render(
    args: &InitArgs,
    metas: &[ProjectMeta],
    mapping: &[(String, Vec<String>, Proposal)],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Written by `pkgsync init` from OBS and Packagecloud. Review the\n\
         # distro-mapping before the first plan; config-example.yaml documents every key.\n\
         # Credentials are not written here: OBS_USER/OBS_PASSWORD and PACKAGECLOUD_TOKEN,\n\
         # osc's config or ~/.packagecloud provide them.\n"
    );
    let _ = writeln!(out, "obs:\n  url: {}\n", args.obs_url);
    let _ = writeln!(out, "obsprojects:");
    for project in &args.obs_project {
        let repositories = metas
            .iter()
            .find(|m| m.name == *project)
            .map(|m| m.repositories.len());
        match repositories {
            Some(n) => {
                let _ = writeln!(out, "  {project}: {{}}   # {n} repositories");
            }
            None => {
                let _ = writeln!(out, "  {project}: {{}}");
            }
        }
    }
    let _ = writeln!(
        out,
        "\npackagecloud:\n  url: {}\n  repo: {}\n",
        args.packagecloud_url, args.repo
    );
    let _ = writeln!(
        out,
        "# OBS repository: Packagecloud distro/version; empty = not synced."
    );
    if mapping.is_empty() {
        let _ = writeln!(out, "distro-mapping: {{}}");
    } else {
        let _ = writeln!(out, "distro-mapping:");
    }
    for (repository, archs, proposal) in mapping {
        let archs = archs.join(", ");
        match proposal {
            Proposal::Sure(target) => {
                let _ = writeln!(out, "  {repository}: {target}   # {archs}");
            }
            Proposal::Unsure(closest) => {
                let hint = if closest.is_empty() {
                    String::new()
                } else {
                    format!("; closest: {}", closest.join(", "))
                };
                let _ = writeln!(
                    out,
                    "  # No sure match on Packagecloud{hint}. Map it, or leave it empty.\n  {repository}:   # {archs}"
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "\nsync:\n  # `additive` never deletes. `mirror` deletes what OBS no longer builds, behind\n  \
         # the guards below; read config-example.yaml before switching.\n  \
         mode: additive\n  max_deletes: 25\n  max_delete_percent: 10"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obs_repository_families_have_packagecloud_candidates() {
        for (repository, first) in [
            ("xUbuntu_22.04", "ubuntu/22.04"),
            ("Ubuntu_24.04", "ubuntu/24.04"),
            ("Debian_12", "debian/12"),
            ("Raspbian_11", "raspbian/11"),
            ("Fedora_39", "fedora/39"),
            ("openSUSE_Leap_15.5", "opensuse/15.5"),
            ("openSUSE_13.2", "opensuse/13.2"),
            ("SLE_15_SP5", "sles/15.5"),
            ("SLE_12", "sles/12.0"),
            ("CentOS_8_Stream", "el/8"),
            ("CentOS_7", "el/7"),
            ("CentOS_Stream_9", "el/9"),
            ("RHEL_9", "el/9"),
            ("AlmaLinux_9", "el/9"),
            ("Rocky_8", "el/8"),
            ("EPEL_9", "el/9"),
            ("openSUSE_Tumbleweed", "opensuse/tumbleweed"),
            ("Fedora_Rawhide", "fedora/rawhide"),
        ] {
            assert_eq!(candidates(repository)[0], first, "{repository}");
        }
        assert!(candidates("Debian_12").contains(&"debian/12.0".to_string()));
    }
}
