//! `pkgsync demo`: the whole workflow against the built-in sandbox, in one
//! command; and `pkgsync sandbox`: the sandbox alone, for trying commands by hand.

use crate::apply::{ApplyOptions, progress::ProgressMode};
use crate::cli::{DemoArgs, Format, SandboxArgs};
use crate::commands::{load_config, make_plan, render, run_apply};
use crate::config::Environment;
use crate::exit::{Exit, Failure};
use crate::plan;
use anyhow::Context;
use pkgsync_sandbox::demo::{
    DEMO_DEB_REPOSITORY, DEMO_OBS_PASSWORD, DEMO_OBS_PROJECT, DEMO_OBS_USER,
    DEMO_PC_PRODUCTION_REPO, DEMO_PC_REPO, DEMO_PC_TOKEN, DEMO_RPM_REPOSITORY,
};
use pkgsync_sandbox::{Sandbox, Seed};
use std::path::{Path, PathBuf};

/// A config for the sandbox. Credentials sit in the file because the sandbox's
/// are public; real configs take them from the environment.
pub fn sandbox_config(sandbox: &Sandbox) -> String {
    format!(
        "# pkgsync config for the built-in sandbox (ports change on every start)\n\
obs:\n  url: {obs}\n  auth:\n    user: {DEMO_OBS_USER}\n    password: {DEMO_OBS_PASSWORD}\n\
obsprojects:\n  {DEMO_OBS_PROJECT}: {{}}\n\
packagecloud:\n  url: {pc}\n  repo: {DEMO_PC_REPO}\n  auth:\n    token: {DEMO_PC_TOKEN}\n\
distro-mapping:\n  {DEMO_RPM_REPOSITORY}: fedora/39\n  {DEMO_DEB_REPOSITORY}: ubuntu/jammy\n\
sync:\n  mode: mirror\n  max_delete_percent: 50\n",
        obs = sandbox.obs_url(),
        pc = sandbox.packagecloud_url(),
    )
}

pub async fn run(args: &DemoArgs, env: &Environment) -> Result<Exit, Failure> {
    let sandbox = Sandbox::start(Seed::demo()).await.map_err(Failure::error)?;
    let scratch = tempfile::tempdir().map_err(Failure::error)?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| scratch.path().to_path_buf());
    let result = walk_through(&sandbox, &dir, env).await;
    sandbox.shutdown().await;
    if result.is_ok() && args.dir.is_some() {
        println!(
            "\nThe configs in `{}` name this run's sandbox (its ports; the signing key is copied beside them), which stopped with the demo. \
To try commands by hand, run `pkgsync sandbox --write-config sandbox.yaml` and use that config while it runs.",
            dir.display()
        );
    }
    result
}

async fn walk_through(sandbox: &Sandbox, dir: &Path, env: &Environment) -> Result<Exit, Failure> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create `{}`", dir.display()))
        .map_err(Failure::error)?;
    let config_path = dir.join("demo-config.yaml");
    let plan_path = dir.join("demo-plan.json");
    write_atomically(&config_path, sandbox_config(sandbox).as_bytes())
        .with_context(|| format!("cannot write `{}`", config_path.display()))
        .map_err(Failure::error)?;
    println!(
        "Sandbox running: OBS API at {}, Packagecloud API at {}.",
        sandbox.obs_url(),
        sandbox.packagecloud_url()
    );
    println!(
        "OBS project `{DEMO_OBS_PROJECT}` has built rpms and debs; Packagecloud `{DEMO_PC_REPO}` holds a few of them and an orphan.\n"
    );

    // The sandbox config carries its own credentials; the user's environment
    // must not redirect the demo to real ones. How requests are retried and
    // timed still follows it.
    let env = Environment {
        retry: env.retry,
        read_timeout: env.read_timeout,
        clock: env.clock.clone(),
        ..Environment::default()
    };
    let config = load_config(&config_path, &env)?;

    println!("$ pkgsync plan --config demo-config.yaml --out demo-plan.json");
    let first = make_plan(&config, &env, None, false, None).await?;
    plan::file::write(&first, &plan_path).map_err(Failure::error)?;
    print!("{}", render(&first, Format::Text));

    println!("\n$ pkgsync apply demo-plan.json --config demo-config.yaml");
    let options = ApplyOptions {
        downloads: config.apply.downloads,
        uploads: config.apply.uploads,
        progress: ProgressMode::detect(false),
    };
    let report = run_apply(
        &first,
        &config,
        &env,
        &dir.join("cache"),
        &dir.join("journal.jsonl"),
        &options,
        false,
    )
    .await?;
    println!("{}", report.summary);

    println!("\n$ pkgsync plan --config demo-config.yaml   # again");
    let second = make_plan(&config, &env, None, false, None).await?;
    print!("{}", render(&second, Format::Text));
    if second.summary.has_changes() {
        return Err(Failure::error(anyhow::anyhow!(
            "the demo did not converge: the second plan still has changes"
        )));
    }
    println!("\nThe repository now matches OBS; nothing is left to do.");
    published_source(sandbox, dir, &env, &options).await?;
    promotion(sandbox, dir, &env, &options).await
}

/// The same builds read from their published, signed repositories (a sha256
/// for every file, no OBS account) into other distro versions.
async fn published_source(
    sandbox: &Sandbox,
    dir: &Path,
    env: &Environment,
    options: &ApplyOptions,
) -> Result<Exit, Failure> {
    // The key lives in the sandbox's temporary tree; a config kept in `dir`
    // must not name a file that goes away with it.
    let key = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve `{}`", dir.display()))
        .map_err(Failure::error)?
        .join(pkgsync_sandbox::signing::KEY_FILE);
    std::fs::copy(sandbox.signing_key_path(), &key)
        .with_context(|| format!("cannot write `{}`", key.display()))
        .map_err(Failure::error)?;
    let step = Step {
        name: "published",
        config: published_config_with_key(sandbox, &key),
        intro: format!(
            "The project's published rpm-md and Debian repositories, as OBS's download server serves them, into `fedora/40` and `ubuntu/noble`, verified against the publisher's key {}:",
            sandbox.signing_fingerprint()
        ),
        after: None,
    };
    converge(&step, dir, env, options).await
}

/// `DEMO_PC_REPO` treated as staging: promoted to production after the
/// reviewed plan that filled it.
async fn promotion(
    sandbox: &Sandbox,
    dir: &Path,
    env: &Environment,
    options: &ApplyOptions,
) -> Result<Exit, Failure> {
    let step = Step {
        name: "promote",
        config: promotion_config(sandbox),
        intro: format!(
            "`{DEMO_PC_REPO}` as staging, promoted to `{DEMO_PC_PRODUCTION_REPO}` after the reviewed plan that filled it:"
        ),
        after: Some("demo-plan.json"),
    };
    converge(&step, dir, env, options).await
}

/// One more config the demo walks through, as `demo-<name>.yaml`.
struct Step {
    name: &'static str,
    config: String,
    intro: String,
    /// `plan --after` this plan file of the demo.
    after: Option<&'static str>,
}

/// Writes the step's config, plans, applies, and plans again: it must
/// converge.
async fn converge(
    step: &Step,
    dir: &Path,
    env: &Environment,
    options: &ApplyOptions,
) -> Result<Exit, Failure> {
    let name = step.name;
    let config_path = dir.join(format!("demo-{name}.yaml"));
    write_atomically(&config_path, step.config.as_bytes())
        .with_context(|| format!("cannot write `{}`", config_path.display()))
        .map_err(Failure::error)?;
    println!("\n{}", step.intro);
    let after = step
        .after
        .map(|a| format!(" --after {a}"))
        .unwrap_or_default();
    println!("$ pkgsync plan --config demo-{name}.yaml{after} --out demo-{name}-plan.json");
    let config = load_config(&config_path, env)?;
    let after = step.after.map(|a| dir.join(a));
    let plan = make_plan(&config, env, None, false, after.as_deref()).await?;
    print!("{}", render(&plan, Format::Text));
    println!("\n$ pkgsync apply demo-{name}-plan.json --config demo-{name}.yaml");
    let report = run_apply(
        &plan,
        &config,
        env,
        &dir.join("cache"),
        &dir.join(format!("journal-{name}.jsonl")),
        options,
        false,
    )
    .await?;
    println!("{}", report.summary);
    let again = make_plan(&config, env, None, false, None).await?;
    if again.summary.has_changes() {
        return Err(Failure::error(anyhow::anyhow!(
            "the demo did not converge: the second plan of `demo-{name}.yaml` still has changes"
        )));
    }
    println!("Planned again: no changes.");
    Ok(Exit::Success)
}

/// A config that promotes the demo repository's fedora/39 and ubuntu/jammy
/// to the production repository, mirroring them.
pub fn promotion_config(sandbox: &Sandbox) -> String {
    format!(
        "# pkgsync config for the built-in sandbox: staging → production\n\
promote:\n  from: {DEMO_PC_REPO}\n  method: copy\n  distros:\n    fedora/39:\n    ubuntu/jammy:\n\
packagecloud:\n  url: {pc}\n  repo: {DEMO_PC_PRODUCTION_REPO}\n  auth:\n    token: {DEMO_PC_TOKEN}\n\
sync:\n  mode: mirror\n  max_delete_percent: 50\n",
        pc = sandbox.packagecloud_url(),
    )
}

/// A config that syncs the demo project's published `Fedora_39` and (flat)
/// `xUbuntu_22.04` repositories, each verified against the sandbox's key.
pub fn published_config(sandbox: &Sandbox) -> String {
    published_config_with_key(sandbox, &sandbox.signing_key_path())
}

/// [`published_config`] with the sandbox's public key read from `key`.
fn published_config_with_key(sandbox: &Sandbox, key: &Path) -> String {
    format!(
        "# pkgsync config for the built-in sandbox's download server\n\
rpm-md:\n  - url: {published}/{project}/{DEMO_RPM_REPOSITORY}\n    distro: fedora/40\n    signed_by: {key}\n\
deb:\n  - url: {published}/{project}/{DEMO_DEB_REPOSITORY}\n    distro: ubuntu/noble\n    signed_by: {key}\n\
packagecloud:\n  url: {pc}\n  repo: {DEMO_PC_REPO}\n  auth:\n    token: {DEMO_PC_TOKEN}\n",
        published = sandbox.published_url(),
        project = pkgsync_sandbox::published::project_path(DEMO_OBS_PROJECT),
        key = key.display(),
        pc = sandbox.packagecloud_url(),
    )
}

pub async fn serve(args: &SandboxArgs) -> Result<Exit, Failure> {
    let sandbox = Sandbox::start(Seed::demo()).await.map_err(Failure::error)?;
    let config = sandbox_config(&sandbox);
    let path: Option<PathBuf> = args.write_config.clone();
    match &path {
        Some(path) => {
            write_atomically(path, config.as_bytes())
                .with_context(|| format!("cannot write `{}`", path.display()))
                .map_err(Failure::error)?;
            eprintln!("Config written to `{}`.", path.display());
        }
        None => print!("{config}"),
    }
    eprintln!(
        "Sandbox running: OBS API at {}, Packagecloud API at {}, published repositories at {} (signed by {}, key at {}). Press Ctrl-C to stop.",
        sandbox.obs_url(),
        sandbox.packagecloud_url(),
        sandbox.published_url(),
        sandbox.signing_fingerprint(),
        sandbox.signing_key_url()
    );
    let _ = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    Ok(Exit::Success)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it there:
/// whoever waits for the config (a test, a script) sees all of it or none.
fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => std::path::Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
