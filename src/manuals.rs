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
    match &args.out_dir {
        None => {
            let mut page = Vec::new();
            render(&top_page(), &mut page).map_err(Failure::error)?;
            print!("{}", String::from_utf8_lossy(&page));
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))
                .map_err(Failure::error)?;
            for (name, page) in pages() {
                write_page(&page, &name, dir)?;
            }
            eprintln!("Man pages written to `{}`.", dir.display());
        }
    }
    Ok(Exit::Success)
}

/// Every page `pkgsync man --out-dir` writes: `pkgsync` and one per command,
/// each with its file name (without `.1`).
pub fn pages() -> Vec<(String, clap::Command)> {
    let top = top_page();
    let mut pages = vec![("pkgsync".to_string(), top.clone())];
    for sub in top.get_subcommands().filter(|s| !s.is_hide_set()) {
        // Built from the built parent: the global options (`--color`) are
        // propagated to it, its synopsis reads `pkgsync <command>` (its bin
        // name) and its title `pkgsync-<command>` (its display name).
        pages.push((format!("pkgsync-{}", sub.get_name()), sub.clone()));
    }
    pages
}

/// The parser's own definitions, built as for parsing. clap's implicit `help`
/// command is hidden here: it is `--help` under another name and gets no page,
/// so no page may name it.
fn top_page() -> clap::Command {
    let mut command = Cli::command();
    command.build();
    command.mut_subcommand("help", |help| help.hide(true))
}

fn render(command: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    clap_mangen::Man::new(command.clone())
        .source(format!("pkgsync {}", env!("CARGO_PKG_VERSION")))
        .render(out)
}

fn write_page(command: &clap::Command, name: &str, dir: &Path) -> Result<(), Failure> {
    let mut page = Vec::new();
    render(command, &mut page).map_err(Failure::error)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, page)
        .with_context(|| format!("cannot write `{}`", path.display()))
        .map_err(Failure::error)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_argument_of_every_page_is_described() {
        for (page, command) in super::pages() {
            for arg in command.get_arguments().filter(|a| !a.is_hide_set()) {
                assert!(
                    arg.get_help().is_some() || arg.get_long_help().is_some(),
                    "`{}` of {page} has no description",
                    arg.get_id()
                );
            }
        }
    }
}
