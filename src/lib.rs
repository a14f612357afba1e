//! pkgsync mirrors rpm and deb packages into a Packagecloud repository,
//! Terraform style: `plan` reads both sides and writes a deterministic plan file,
//! `apply` executes exactly that plan after review.
//!
//! Map (data flows one way; ARCHITECTURE.md has the layering):
//! - [`config`]: the YAML config, validated; secrets kept apart.
//! - `source`: the interface every source implements; [`obs`]: the OBS build
//!   API behind it, [`rpmmd`] and `deb` published repositories, [`gbs`] GBS
//!   trees. [`packagecloud`]: the target. All through [`http`] (which also
//!   reads `file://` trees on disk).
//! - `observe`: both sides read, the config resolved against Packagecloud once.
//! - [`model`]: the inventories both sides produce.
//! - [`plan`]: the pure planner, the plan file, its renderings and `diff`.
//! - `apply`: a check phase that only reads, then execution; cache, journal.
//! - [`cli`], `commands`, `exit`: the command line around it all; `check`,
//!   `init`, `manuals` (completions, man pages), [`demo`] (against the
//!   `pkgsync-sandbox` crate's emulators).

// Errors carry names and places for the user; they are rare, so their size is
// not worth boxing.
#![allow(clippy::result_large_err)]

mod apply;
mod check;
pub mod checksum;
pub mod cli;
mod commands;
pub mod config;
mod deb;
pub mod demo;
mod digest;
mod display;
mod exit;
pub mod gbs;
pub mod http;
mod init;
mod keyring;
mod manuals;
mod metadata;
pub mod model;
pub mod obs;
mod observe;
mod oscrc;
pub mod packagecloud;
pub mod plan;
mod promotion;
pub mod rpmmd;
mod secret;
mod source;
mod target;

use cli::{Cli, Command};
use config::Environment;
use exit::{Exit, Failure};

/// Runs one command line to its exit code.
pub fn run(cli: Cli) -> Result<Exit, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::error)?;
    let env = Environment::from_process();
    commands::set_color(cli.color, &env);
    let exit = runtime.block_on(async {
        match &cli.command {
            Command::Plan(args) => commands::plan(args, &env).await,
            Command::Show(args) => commands::show(args),
            Command::Apply(args) => commands::apply(args, &env).await,
            Command::Check(args) => check::check(args, &env).await,
            Command::Init(args) => init::init(args, &env).await,
            Command::Diff(args) => commands::diff(args),
            Command::Demo(args) => demo::run(args, &env).await,
            Command::Sandbox(args) => demo::serve(args).await,
            Command::Completions(args) => manuals::completions(args),
            Command::Man(args) => manuals::man(args),
        }
    });
    // A read of a hung file system cannot be cancelled (it runs on a blocking
    // thread): once the command has its result, do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    exit
}
