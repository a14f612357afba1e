use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match pkgsync::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match pkgsync::run(cli) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(failure) => {
            eprintln!("{}", failure.render());
            ExitCode::from(failure.exit.code())
        }
    }
}

/// `--help` and `--version` print and succeed; a usage error exits 1, never
/// clap's 2, which `plan --detailed-exitcode` uses for "changes found".
fn usage_error(e: clap::Error) -> ExitCode {
    // A failed print (a closed pipe) changes nothing about the exit code.
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(1) // `Exit::Error`: the README's exit code 1
    } else {
        ExitCode::SUCCESS
    }
}
