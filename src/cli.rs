//! Command-line definitions (clap), and the one place that reads the process
//! environment ([`Environment::from_process`]); the library gets it passed down.

use crate::config::Environment;
use crate::http::RetryPolicy;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

impl Environment {
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let millis = |name: &str| {
            var(name)
                .and_then(|v| v.parse().ok())
                .map(Duration::from_millis)
        };
        let mut retry = RetryPolicy::default();
        if let Some(base) = millis("PKGSYNC_RETRY_BASE_MS") {
            retry = retry.with_base_delay(base);
        }
        retry.log = var("PKGSYNC_LOG_RETRIES").is_some();
        Self {
            obs_user: var("OBS_USER"),
            obs_password: var("OBS_PASSWORD"),
            packagecloud_token: var("PACKAGECLOUD_TOKEN"),
            promote_token: var("PACKAGECLOUD_PROMOTE_TOKEN"),
            packagecloud_file: dirs::home_dir().map(|home| home.join(".packagecloud")),
            oscrc: crate::oscrc::locate(
                std::env::var_os("OSC_CONFIG").map(PathBuf::from),
                dirs::config_dir(),
                dirs::home_dir(),
            ),
            retry,
            read_timeout: millis("PKGSYNC_READ_TIMEOUT_MS"),
            cache_dir: dirs::cache_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("pkgsync"),
            no_color: std::env::var_os("NO_COLOR").is_some(),
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "pkgsync",
    version,
    about = "Mirror rpm and deb packages (OBS builds, published rpm-md and Debian repositories, GBS trees, another Packagecloud repository) into a Packagecloud repository: plan, review, apply",
    after_help = "Exit codes: 0 success or no changes; 1 error; 2 changes found (plan --detailed-exitcode); \
3 deletion guard tripped; 4 plan refused as stale or made with another config; 5 apply partly failed; \
6 content conflict between a source and Packagecloud. diff: 0 same actions, 1 different."
)]
pub struct Cli {
    /// Colour in terminal output: `auto` colours only on a terminal and without
    /// `NO_COLOR`
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read the configured sources and Packagecloud (read-only) and write a plan of uploads and deletes
    Plan(PlanArgs),
    /// Render a plan file as text, markdown (for a pull request) or JSON
    Show(ShowArgs),
    /// Execute exactly the actions of a reviewed plan file
    Apply(ApplyArgs),
    /// Write a first config from OBS projects and a Packagecloud repository, with a
    /// proposed distro mapping
    Init(InitArgs),
    /// Check a config before the first plan: OBS projects readable, token and
    /// repository accepted, mapping complete (read-only; exit 0 only if all pass)
    Check(CheckArgs),
    /// Show what two plan files disagree on
    Diff(DiffArgs),
    /// Try pkgsync end to end against a built-in sandbox (emulated OBS and Packagecloud)
    Demo(DemoArgs),
    /// Run the sandbox emulators until interrupted, for trying commands by hand
    Sandbox(SandboxArgs),
    /// Print a shell completion script (e.g. `pkgsync completions bash > /etc/bash_completion.d/pkgsync`)
    Completions(CompletionsArgs),
    /// Write man pages: pkgsync(1) and one per command
    Man(ManArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The YAML config file
    #[arg(long, short)]
    pub config: PathBuf,
    /// Write the plan file here
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// What to print on stdout
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 0 when there is nothing to do, 2 when there are changes
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Allow up to N deletes in this plan, above the configured guards (recorded in the plan)
    #[arg(long, value_name = "N")]
    pub allow_deletes: Option<usize>,
    /// List unchanged packages by name in the plan file, not only their count
    #[arg(long)]
    pub list_skips: bool,
    /// A promotion follows this reviewed plan of its source repository: plan and
    /// apply refuse (exit 4) unless that repository holds what the plan led to
    #[arg(long, value_name = "PLAN")]
    pub after: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The plan file
    pub plan: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The reviewed plan file
    pub plan: PathBuf,
    /// The config the plan was made with
    #[arg(long, short)]
    pub config: PathBuf,
    /// Where downloads are kept between runs [default: the user's cache directory]
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Concurrent downloads [default: `apply.downloads` of the config, else 4]
    #[arg(long)]
    pub downloads: Option<usize>,
    /// Concurrent uploads and deletes [default: `apply.uploads` of the config, else 4]
    #[arg(long)]
    pub uploads: Option<usize>,
    /// Append the record of each action (JSON lines) here [default: <cache-dir>/journal.jsonl]
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// No progress output
    #[arg(long, short)]
    pub quiet: bool,
    /// What to print on stdout: the summary (`text`), or one JSON line per action
    /// as it finishes (the journal's record) and a last `{"type":"summary",...}`
    /// line (`json`)
    #[arg(long, value_enum, default_value_t = ApplyFormat::Text)]
    pub format: ApplyFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ApplyFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// An OBS project to sync (repeat for several)
    #[arg(long = "obs-project", value_name = "PROJECT", required = true)]
    pub obs_project: Vec<String>,
    /// The Packagecloud repository, `<user>/<repo>`
    #[arg(long, value_name = "USER/REPO")]
    pub repo: String,
    /// Where to write the config
    #[arg(long, short, default_value = "pkgsync.yaml")]
    pub out: PathBuf,
    /// Overwrite `--out` if it exists
    #[arg(long)]
    pub force: bool,
    /// The OBS API
    #[arg(long, default_value = crate::config::DEFAULT_OBS_URL)]
    pub obs_url: String,
    /// The Packagecloud API
    #[arg(long, default_value = crate::config::DEFAULT_PACKAGECLOUD_URL)]
    pub packagecloud_url: String,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The YAML config file
    #[arg(long, short)]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    pub old: PathBuf,
    pub new: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's config and plan files in this directory
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Write a config file for the sandbox here
    #[arg(long)]
    pub write_config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `pkgsync.1` and `pkgsync-<command>.1` into this directory
    /// [default: print `pkgsync.1` on stdout]
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}
