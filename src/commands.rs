//! The commands: each reads its inputs, calls the library and prints. Data goes to
//! stdout, messages to stderr.

use crate::apply::{
    self, ApplyError, ApplyOptions, cache::Cache, journal::Journal, progress::ProgressMode,
};
use crate::cli::{ApplyArgs, ApplyFormat, ColorChoice, DiffArgs, Format, PlanArgs, ShowArgs};
use crate::config::{Config, Environment};
use crate::exit::{Exit, Failure};
use crate::http::HttpClient;
use crate::model::{ARCH_INDEPENDENT, ArtifactKey, TargetInventory, file_arch};
use crate::observe::{self, Observation};
use crate::packagecloud::PackagecloudError;
use crate::plan::{self, Plan, planner::PlanContext, render};
use crate::source::Sources;
use crate::target::Target;
use anyhow::Context as _;
use futures::{StreamExt, TryStreamExt};
use std::collections::BTreeSet;

/// Applies `--color` to both streams, once, before anything is printed:
/// `auto` colours a stream only when it is a terminal and `NO_COLOR` is unset.
pub fn set_color(choice: ColorChoice, env: &Environment) {
    let auto = |term: console::Term| !env.no_color && term.is_term();
    let (stdout, stderr) = match choice {
        ColorChoice::Always => (true, true),
        ColorChoice::Never => (false, false),
        ColorChoice::Auto => (auto(console::Term::stdout()), auto(console::Term::stderr())),
    };
    console::set_colors_enabled(stdout);
    console::set_colors_enabled_stderr(stderr);
}

/// Whether stdout is coloured (see [`set_color`]).
pub fn use_color() -> bool {
    console::colors_enabled()
}

pub fn load_config(path: &std::path::Path, env: &Environment) -> Result<Config, Failure> {
    let config = Config::load(path, env).map_err(Failure::error)?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    for note in &config.notes {
        eprintln!("note: {note}");
    }
    Ok(config)
}

/// The HTTP client every request of one command goes through.
pub fn http_client(config: &Config, env: &Environment) -> HttpClient {
    let http = HttpClient::new(env.retry)
        .with_limits(config.limits)
        .with_proxies(env.proxies.clone());
    let mut http = match env.read_timeout {
        Some(timeout) => http.with_read_timeout(timeout),
        None => http,
    };
    for (url, auth) in config.published_auth() {
        http = http
            .with_repository(url, auth)
            .expect("an `auth:` block is checked when the config is read");
    }
    http
}

/// The sources the config names and the target, over one HTTP client.
pub fn clients(config: &Config, env: &Environment) -> (Sources, Target) {
    let http = http_client(config, env);
    (
        Sources::from_config(config, &http),
        Target::packagecloud(http, &config.packagecloud),
    )
}

/// Observes both sides and computes the plan. Read-only.
pub async fn make_plan(
    config: &Config,
    env: &Environment,
    allow_deletes: Option<usize>,
    list_skips: bool,
    after: Option<&std::path::Path>,
) -> Result<Plan, Failure> {
    let (sources, target_repository) = clients(config, env);
    let Observation {
        resolved,
        mut source,
        mut target,
    } = observe::observe(config, &sources, &target_repository)
        .await
        .map_err(Failure::error)?;

    // The build API gives md5s only per package. A plan does not need them for
    // uploads (apply reads them when it lists those packages again, and verifies
    // every download against them), so planning costs a constant number of
    // requests. Only `sync.verify_unchanged` reads them, for what both sides hold.
    if config.policy_settings.verify_unchanged {
        let both: BTreeSet<_> = source
            .artifacts
            .keys()
            .filter(|k| target.packages.contains_key(*k))
            .cloned()
            .collect();
        sources
            .complete_md5(&mut source, &both)
            .await
            .map_err(Failure::error)?;
        read_stored_md5s(&target_repository, &mut target, &both).await?;
    }

    let after = match after {
        Some(path) => Some(promotion_gate(&sources, path, &target, &resolved).await?),
        None if config.promote.as_ref().is_some_and(|p| p.require_after) => {
            return Err(Failure::error(anyhow::anyhow!(
                "`promote.require_after`: a promotion must follow the reviewed plan of its source: plan with `--after PLAN`"
            )));
        }
        None => None,
    };
    let context = PlanContext {
        config: config.effective(),
        list_skips,
        after,
    };
    let policy = resolved.policy(config, allow_deletes);
    plan::plan(&source, &target, &policy, &context).map_err(Failure::error)
}

/// `plan --after`: the staging plan, read and checked against the promotion's
/// source as it is now.
async fn promotion_gate(
    sources: &Sources,
    path: &std::path::Path,
    target: &TargetInventory,
    resolved: &observe::Resolved,
) -> Result<plan::After, Failure> {
    let Some(promotion) = sources.promotion() else {
        return Err(Failure::error(anyhow::anyhow!(
            "`--after` orders a promotion after another plan, but the config has no `promote:` section"
        )));
    };
    let staged = plan::file::read(path).map_err(Failure::error)?;
    let canonical = |name: &str| resolved.canonical(name).to_string();
    let gate = promotion.after(&staged, target, &canonical).await;
    gate.map_err(Failure::error)
}

/// `sync.verify_unchanged`: the md5 of every file both sides hold, from its
/// Packagecloud details. Arch-independent files are built once per arch with
/// different bytes, so another arch's copy is no conflict: those are skipped.
async fn read_stored_md5s(
    client: &Target,
    target: &mut TargetInventory,
    keys: &BTreeSet<ArtifactKey>,
) -> Result<(), Failure> {
    let both: Vec<&ArtifactKey> = keys
        .iter()
        .filter(|k| target.packages.contains_key(*k))
        .filter(|k| !file_arch(&k.filename).is_some_and(|a| ARCH_INDEPENDENT.contains(&a)))
        .collect();
    let md5s: Vec<(ArtifactKey, Option<String>)> = futures::stream::iter(both)
        .map(|key| {
            let stored = &target.packages[key];
            async move { Ok::<_, PackagecloudError>((key.clone(), client.read_md5(stored).await?)) }
        })
        .buffered(8)
        .try_collect()
        .await
        .map_err(Failure::error)?;
    for (key, md5) in md5s {
        let Some(md5) = md5 else {
            return Err(Failure::error(anyhow::anyhow!(
                "`sync.verify_unchanged`: Packagecloud gives no md5 for `{key}`, so it cannot be compared"
            )));
        };
        if let Some(package) = target.packages.get_mut(&key) {
            package.md5 = Some(md5);
        }
    }
    Ok(())
}

pub fn render(plan: &Plan, format: Format) -> String {
    match format {
        Format::Text => render::text(plan, use_color()),
        Format::Markdown => render::markdown(plan),
        Format::Json => render::json(plan),
    }
}

/// With `--format json`, retries are reported as JSON events too.
fn reporting(env: &Environment, json: bool) -> Environment {
    let mut env = env.clone();
    if json {
        env.retry.report = crate::http::RetryReport::Json;
    }
    env
}

pub async fn plan(args: &PlanArgs, env: &Environment) -> Result<Exit, Failure> {
    let env = &reporting(env, args.format == Format::Json);
    let config = load_config(&args.config, env)?;
    let plan = make_plan(
        &config,
        env,
        args.allow_deletes,
        args.list_skips,
        args.after.as_deref(),
    )
    .await?;
    if let Some(out) = &args.out {
        plan::file::write(&plan, out)
            .with_context(|| format!("cannot write the plan file `{}`", out.display()))
            .map_err(Failure::error)?;
        eprintln!("Plan written to `{}`.", out.display());
    }
    print!("{}", render(&plan, args.format));
    Ok(if args.detailed_exitcode && plan.summary.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    })
}

pub fn show(args: &ShowArgs) -> Result<Exit, Failure> {
    let plan = plan::file::read(&args.plan).map_err(Failure::error)?;
    print!("{}", render(&plan, args.format));
    Ok(Exit::Success)
}

pub fn diff(args: &DiffArgs) -> Result<Exit, Failure> {
    let old = plan::file::read(&args.old).map_err(Failure::error)?;
    let new = plan::file::read(&args.new).map_err(Failure::error)?;
    let difference = plan::diff::diff(&old, &new);
    print!("{}", plan::diff::render(&difference));
    Ok(if difference.differs() {
        Exit::PlansDiffer
    } else {
        Exit::Success
    })
}

pub async fn apply(args: &ApplyArgs, env: &Environment) -> Result<Exit, Failure> {
    let env = &reporting(env, args.format == ApplyFormat::Json);
    let plan = plan::file::read(&args.plan).map_err(Failure::error)?;
    let config = load_config(&args.config, env)?;
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| env.cache_dir.clone());
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| cache_dir.join("journal.jsonl"));
    let options = ApplyOptions {
        downloads: args.downloads.unwrap_or(config.apply.downloads).max(1),
        uploads: args.uploads.unwrap_or(config.apply.uploads).max(1),
        progress: ProgressMode::detect(args.quiet),
    };
    let json = args.format == ApplyFormat::Json;
    let report = run_apply(
        &plan,
        &config,
        env,
        &cache_dir,
        &journal_path,
        &options,
        json,
    )
    .await?;
    if !json {
        println!("{}", report.summary);
    }
    Ok(Exit::Success)
}

pub async fn run_apply(
    plan: &Plan,
    config: &Config,
    env: &Environment,
    cache_dir: &std::path::Path,
    journal_path: &std::path::Path,
    options: &ApplyOptions,
    json: bool,
) -> Result<apply::ApplyReport, Failure> {
    let cache = Cache::open(cache_dir).map_err(Failure::error)?;
    let mut journal = Journal::open(journal_path)
        .with_context(|| format!("cannot open the journal `{}`", journal_path.display()))
        .map_err(Failure::error)?;
    if json {
        journal = journal.echo_to_stdout();
    }
    let http = http_client(config, env);
    let sources = Sources::from_config(config, &http);
    let target = Target::packagecloud(http.clone(), &config.packagecloud);
    let ctx = apply::Context {
        config,
        sources: &sources,
        target: &target,
        http: &http,
        cache: &cache,
        journal: &journal,
    };
    let result = apply::apply(plan, &ctx, options).await;
    if json {
        // Also after a failure: the last line always says how far the run got.
        println!(
            "{}",
            apply::journal::summary_json(&plan.plan_id, &journal.records())
        );
    }
    result.map_err(|e| match e {
        // Only here is the journal's path known.
        ApplyError::Partial(_) => Failure::error(e).with_hint(format!(
            "the journal `{}` records every action",
            journal_path.display()
        )),
        other => Failure::error(other),
    })
}
