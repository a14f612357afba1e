use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = pkgsync::cli::Cli::parse();
    match pkgsync::run(cli) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(failure) => {
            eprintln!("{}", failure.render());
            ExitCode::from(failure.exit.code())
        }
    }
}
