//! pkgsync mirrors OBS-built rpm and deb packages into a Packagecloud repository,
//! Terraform style: `plan` reads both sides and writes a deterministic plan file,
//! `apply` executes exactly that plan after review.
//!
//! Map (data flows one way):
//! - [`config`]: the YAML config, validated; secrets kept apart.
//! - [`obs`]: the source; [`packagecloud`]: the target. Both through [`http`].
//! - [`model`]: the inventories both sides produce.
//! - [`plan`]: the pure planner, the plan file, its renderings and `diff`.
//! - [`apply`]: re-observation, preconditions, download cache, execution, journal.
//! - [`sandbox`]: emulators of both APIs, used by `demo` and the tests.
//! - [`cli`], [`commands`], [`exit`]: the command line around it all;
//!   [`manuals`]: completions and man pages generated from [`cli`].

// Errors carry names and places for the user; they are rare, so their size is
// not worth boxing.
#![allow(clippy::result_large_err)]

mod apply;
mod check;
pub mod cli;
mod commands;
pub mod config;
pub mod demo;
mod digest;
mod display;
mod exit;
pub mod http;
mod init;
mod manuals;
pub mod model;
pub mod obs;
mod observe;
mod oscrc;
pub mod packagecloud;
pub mod plan;
mod secret;
mod source;

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
    runtime.block_on(async {
        match &cli.command {
            Command::Plan(args) => commands::plan(args, &env).await,
            Command::Show(args) => commands::show(args),
            Command::Apply(args) => commands::apply(args, &env).await,
            Command::Check(args) => check::check(args, &env).await,
            Command::Init(args) => init::init(args, &env).await,
            Command::Diff(args) => commands::diff(args),
            Command::Demo(args) => demo::run(args).await,
            Command::Sandbox(args) => demo::serve(args).await,
            Command::Completions(args) => manuals::completions(args),
            Command::Man(args) => manuals::man(args),
        }
    })
}
