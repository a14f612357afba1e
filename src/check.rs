//! `pkgsync check`: a read-only pre-flight of a config, one line per check, for
//! the first step of a CI job. Nothing is written anywhere.
//!
//! Checks: the config is valid; every OBS project is readable with the
//! credentials it would use; every repository the filters admit is mapped;
//! every other source reads as a plan reads it; the
//! Packagecloud token is accepted and sees the repository (and a promotion's
//! source repository); every `distro/version` the config names exists. Write access cannot be verified without writing (the
//! API shows no permissions), and the output says so.

use crate::cli::CheckArgs;
use crate::commands::{http_client, load_config};
use crate::config::{Config, Environment};
use crate::display;
use crate::exit::{Exit, Failure};
use crate::obs::client::ObsClient;
use crate::obs::inventory::Selection;
use crate::packagecloud::{PackagecloudClient, PackagecloudError};
use crate::target::Target;
use std::collections::BTreeSet;

/// The outcome of one check.
struct Line {
    ok: bool,
    text: String,
}

impl Line {
    fn ok(text: String) -> Self {
        Self { ok: true, text }
    }

    fn fail(text: String) -> Self {
        Self { ok: false, text }
    }

    fn print(&self) {
        let mark = if self.ok { "ok  " } else { "FAIL" };
        println!("{mark}  {}", self.text);
    }
}

pub async fn check(args: &CheckArgs, env: &Environment) -> Result<Exit, Failure> {
    let config = match load_config(&args.config, env) {
        Ok(config) => config,
        Err(failure) => {
            Line::fail(format!("config: {:#}", failure.error)).print();
            return Ok(Exit::Error);
        }
    };
    let mut lines = vec![Line::ok(format!(
        "config `{}` is valid",
        args.config.display()
    ))];
    lines.extend(check_obs(&config, env).await);
    lines.extend(check_sources(&config, env).await);
    lines.extend(check_promotion(&config, env).await);
    lines.extend(check_packagecloud(&config, env).await);
    for line in &lines {
        line.print();
    }
    let failed = lines.iter().filter(|l| !l.ok).count();
    if failed == 0 {
        println!("All {} checks passed.", lines.len());
        Ok(Exit::Success)
    } else {
        println!("{failed} of {} checks failed.", lines.len());
        Ok(Exit::Error)
    }
}

/// Each project's meta, with its own credentials; then the mapping of every
/// repository the filters admit.
async fn check_obs(config: &Config, env: &Environment) -> Vec<Line> {
    if config.obs.projects.is_empty() {
        return Vec::new();
    }
    let obs = ObsClient::new(http_client(config, env), &config.obs.url);
    let selection = Selection::new(&config.filters);
    let mut lines = Vec::new();
    let mut unmapped = BTreeSet::new();
    for project in &config.obs.projects {
        let who = match &project.credentials {
            Some(c) => format!("as `{}`", display::text(&c.user)),
            None => "anonymously".to_string(),
        };
        let name = display::text(&project.name);
        match obs.project_meta(project).await {
            Ok(meta) => {
                unmapped.extend(
                    meta.repositories
                        .iter()
                        .filter(|r| selection.repository(&r.name))
                        .filter(|r| !config.distro_mapping.contains_key(&r.name))
                        .map(|r| r.name.clone()),
                );
                lines.push(Line::ok(format!(
                    "OBS project `{name}` is readable {who} ({} repositories)",
                    meta.repositories.len()
                )));
            }
            Err(e) => lines.push(Line::fail(format!(
                "OBS project `{name}` {who}: {}",
                crate::display::chain(&e)
            ))),
        }
    }
    let all_read = lines.iter().all(|l| l.ok);
    if unmapped.is_empty() && all_read {
        lines.push(Line::ok(
            "every OBS repository the filters admit is in `distro-mapping`".into(),
        ));
    } else if !unmapped.is_empty() {
        let names: Vec<String> = unmapped.iter().map(|r| display::text(r).into()).collect();
        lines.push(Line::fail(format!(
            "OBS repositories missing from `distro-mapping` (map them, or map them to nothing to skip them): {}",
            names.join(", ")
        )));
    }
    lines
}

/// Published repositories, trees and a promotion's source, each read as a
/// plan reads it (index, signature, metadata checked against it).
async fn check_sources(config: &Config, env: &Environment) -> Vec<Line> {
    let sources = crate::source::Sources::from_config(config, &http_client(config, env));
    sources
        .probe()
        .await
        .into_iter()
        .map(|(kind, read)| match read {
            Ok(()) => Line::ok(format!(
                "{kind} are read as a plan reads them (against their index; signatures verified where `signed_by` is set)"
            )),
            Err(e) => Line::fail(format!("{kind}: {}", crate::display::chain(&e))),
        })
        .collect()
}

/// `promote:`: the source repository is readable with the token it gets.
async fn check_promotion(config: &Config, env: &Environment) -> Vec<Line> {
    let Some(promote) = &config.promote else {
        return Vec::new();
    };
    let source = PackagecloudClient::new(http_client(config, env), &promote.from);
    let repo = display::text(source.repo()).into_owned();
    vec![match source.repository().await {
        Ok(private) => Line::ok(format!(
            "the promotion source `{repo}` ({}) is readable with the token from {}",
            if private { "private" } else { "public" },
            promote.from.token_source
        )),
        Err(e) => Line::fail(format!(
            "the promotion source `{repo}`: {}",
            crate::display::chain(&e)
        )),
    }]
}

/// The token and the repository, then every mapped `distro/version`.
async fn check_packagecloud(config: &Config, env: &Environment) -> Vec<Line> {
    let packagecloud = Target::packagecloud(http_client(config, env), &config.packagecloud);
    let repo = display::text(packagecloud.repo()).into_owned();
    let mut lines = Vec::new();
    match packagecloud.repository().await {
        Ok(private) => lines.push(Line::ok(format!(
            "Packagecloud accepts the token ({}) and it sees the {} repository `{repo}`; write access cannot be verified without writing",
            config.packagecloud.token_source,
            if private { "private" } else { "public" }
        ))),
        // Without a token that works, nothing else there can be read.
        Err(e @ PackagecloudError::Unauthorized { .. }) => {
            lines.push(Line::fail(format!(
                "Packagecloud repository `{repo}`: {} (the distro mapping was not checked)",
                crate::display::chain(&e)
            )));
            return lines;
        }
        Err(e) => lines.push(Line::fail(format!(
            "Packagecloud repository `{repo}`: {}",
            crate::display::chain(&e)
        ))),
    }
    let index = match packagecloud.distributions().await {
        Ok(index) => index,
        Err(e) => {
            lines.push(Line::fail(format!(
                "Packagecloud distributions: {}",
                crate::display::chain(&e)
            )));
            return lines;
        }
    };
    let mut unknown = Vec::new();
    let mapped: BTreeSet<&String> = config.written_distros().collect();
    for target in &mapped {
        if let Err(e) = index.canonical_name(target) {
            unknown.push(e.to_string());
        }
    }
    if unknown.is_empty() {
        lines.push(Line::ok(format!(
            "every mapped distro/version exists on Packagecloud ({})",
            mapped.len()
        )));
    } else {
        for e in unknown {
            lines.push(Line::fail(format!("distro-mapping: {e}")));
        }
    }
    lines
}
