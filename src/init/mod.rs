//! `pkgsync init`: writes a first config from what OBS and Packagecloud hold,
//! with a proposed `distro-mapping` for every repository of the projects.
//!
//! [`names::candidates`] turns an OBS repository name into the Packagecloud
//! `distro/version`s it may mean, and only one that Packagecloud's
//! distributions list counts as a sure match. A repository
//! without one is written mapped to nothing (so the config plans as written),
//! with the closest names in a comment. No secret is written: credentials stay in
//! the environment, the pkgsync config's `auth` keys or osc's config.

use crate::cli::InitArgs;
use crate::commands::http_client;
use crate::config::{Config, ConfigError, Environment};
use crate::exit::{Exit, Failure};
use crate::obs::client::{ObsClient, ObsError};
use crate::obs::xml::ProjectMeta;
use crate::packagecloud::{PackagecloudClient, PackagecloudError};
use anyhow::{Context as _, anyhow};
use std::fmt::Write as _;

mod distro_info;
mod names;

use names::{Proposal, propose};

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
    let config = Config::parse(&skeleton, &args.out, env).map_err(flag_error)?;
    let http = http_client(&config, env);
    let obs = ObsClient::new(http.clone(), &config.obs.url);
    let packagecloud = PackagecloudClient::new(http, &config.packagecloud);
    let (index, repository) = tokio::join!(packagecloud.distributions(), packagecloud.repository());
    let index = index.map_err(Failure::error)?;
    check_repository(repository, args)?;
    let mut metas = Vec::new();
    for project in &config.obs.projects {
        metas.push(
            obs.project_meta(project)
                .await
                .map_err(|e| project_error(e, args))?,
        );
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

/// An error in init's own flags, named by the flag rather than by the config
/// file it was about to write.
fn flag_error(error: ConfigError) -> Failure {
    let ConfigError::Invalid { message, .. } = &error else {
        return Failure::error(error);
    };
    let flag = FLAGS
        .iter()
        .find(|(key, _)| message.starts_with(&format!("`{key}")))
        .map(|(_, flag)| *flag);
    match flag {
        Some(flag) => Failure::error(anyhow!("invalid `{flag}`: {message}"))
            .with_hint(format!("see `pkgsync init --help` for what `{flag}` takes")),
        None => Failure::error(anyhow!("invalid flags of pkgsync init: {message}")),
    }
}

/// The config keys init writes from its flags.
const FLAGS: &[(&str, &str)] = &[
    ("packagecloud.repo", "--repo"),
    ("packagecloud.url", "--packagecloud-url"),
    ("packagecloud", "--repo"),
    ("obs.url", "--obs-url"),
    ("obsprojects", "--obs-project"),
];

/// `--repo` must exist (a token that cannot see it reads as a 404 too), unless
/// `--force` says to write the config anyway.
fn check_repository(
    repository: Result<bool, PackagecloudError>,
    args: &InitArgs,
) -> Result<(), Failure> {
    match repository {
        Ok(_) => Ok(()),
        Err(PackagecloudError::NoRepository { repo }) if args.force => {
            eprintln!(
                "warning: Packagecloud has no repository `{}` (`--repo`), or the token may not see it; writing the config anyway (`--force`)",
                crate::display::text(&repo)
            );
            Ok(())
        }
        Err(e @ PackagecloudError::NoRepository { .. }) => Err(Failure::error(
            anyhow!(e).context(format!("`--repo {}`", crate::display::text(&args.repo))),
        )
        .with_hint(
            "create the repository on Packagecloud or correct `--repo` (`user/repo`); `--force` writes the config anyway",
        )),
        Err(e) => Err(Failure::error(e)),
    }
}

/// A project OBS does not know is a `--obs-project` (or `--obs-url`) to fix.
fn project_error(error: ObsError, args: &InitArgs) -> Failure {
    let missing =
        matches!(&error, ObsError::Api { status, .. } if *status == reqwest::StatusCode::NOT_FOUND);
    let failure = Failure::error(error);
    if !missing {
        return failure;
    }
    failure.with_hint(format!(
        "check `--obs-project` and `--obs-url` (`{}`); OBS also answers this way for a project hidden from this account",
        args.obs_url
    ))
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
