//! Documentation generated from the command-line definitions, so it cannot drift
//! from them: shell completion scripts (clap_complete) and man pages
//! (clap_mangen).

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit::{Exit, Failure};
use anyhow::Context as _;
use clap::CommandFactory;
use std::path::Path;

pub fn completions(args: &CompletionsArgs) -> Result<Exit, Failure> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "pkgsync", &mut std::io::stdout());
    Ok(Exit::Success)
}

pub fn man(args: &ManArgs) -> Result<Exit, Failure> {
    let command = Cli::command();
    match &args.out_dir {
        None => {
            let mut page = Vec::new();
            render(&command, &mut page).map_err(Failure::error)?;
            print!("{}", String::from_utf8_lossy(&page));
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))
                .map_err(Failure::error)?;
            write_page(&command, "pkgsync", dir)?;
            for sub in command.get_subcommands() {
                // A subcommand's page is named and titled as `pkgsync-<command>`.
                let name = format!("pkgsync-{}", sub.get_name());
                let sub = sub.clone().name(name.clone());
                write_page(&sub, &name, dir)?;
            }
            eprintln!("Man pages written to `{}`.", dir.display());
        }
    }
    Ok(Exit::Success)
}

fn render(command: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    clap_mangen::Man::new(command.clone()).render(out)
}

fn write_page(command: &clap::Command, name: &str, dir: &Path) -> Result<(), Failure> {
    let mut page = Vec::new();
    render(command, &mut page).map_err(Failure::error)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, page)
        .with_context(|| format!("cannot write `{}`", path.display()))
        .map_err(Failure::error)
}
