//! `pkgsync demo` and `pkgsync sandbox`.
use crate::cli::{DemoArgs, SandboxArgs};
use crate::exit::{Exit, Failure};

pub async fn run(_args: &DemoArgs) -> Result<Exit, Failure> {
    Err(Failure::error(anyhow::anyhow!(
        "the demo needs the sandbox"
    )))
}

pub async fn serve(_args: &SandboxArgs) -> Result<Exit, Failure> {
    Err(Failure::error(anyhow::anyhow!(
        "the sandbox is not built yet"
    )))
}
