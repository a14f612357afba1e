//! What the integration tests share: the sandbox world and the `pkgsync` binary
//! run against it ([`World`], [`Run`]), and the plan tests' builders ([`plans`]).

pub mod gpg;
pub mod plans;
mod world;

pub use world::*;
