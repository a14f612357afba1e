//! What the integration tests share: the sandbox world and the `pkgsync` binary
//! run against it ([`World`], [`Run`]), the plan tests' builders ([`plans`]),
//! recorded plans ([`golden`]) and recorded HTTP answers ([`replay`]).

pub mod golden;
pub mod gpg;
pub mod plans;
pub mod replay;
pub mod trees;
mod world;

pub use world::*;

/// Installs the Debian packages a test needs (`createrepo-c`, `gnupg`, ...)
/// with the project's script, which does nothing for those already there.
pub fn install_tools(packages: &[&str]) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tools/install-debian-packages.sh");
    let status = std::process::Command::new(script)
        .args(packages)
        .status()
        .unwrap();
    assert!(status.success(), "{packages:?} are needed");
}

/// Runs `script` with `sh` in `dir`; a failure fails the test with its stderr.
pub fn sh(dir: &std::path::Path, script: &str) {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The Packagecloud emulator with the demo's empty repository and token, and
/// a config of `sources` (YAML) syncing into it in mirror mode, every delete
/// allowed by the percentage guard.
pub fn world_of(sources: &str) -> World {
    world_with(pkgsync_sandbox::Seed::empty(), sources)
}

/// [`world_of`] with `seed`'s Packagecloud packages (and OBS emulator) in it.
pub fn world_with(mut seed: pkgsync_sandbox::Seed, sources: &str) -> World {
    seed.packagecloud.token = Some(pkgsync_sandbox::demo::DEMO_PC_TOKEN.into());
    seed.packagecloud.repo(pkgsync_sandbox::demo::DEMO_PC_REPO);
    let world = World::with_seed(seed);
    let config = format!(
        "{sources}packagecloud:\n  url: {pc}\n  repo: {repo}\n  auth:\n    token: {token}\n\
sync:\n  mode: mirror\n  max_delete_percent: 100\n",
        pc = world.sandbox().packagecloud_url(),
        repo = pkgsync_sandbox::demo::DEMO_PC_REPO,
        token = pkgsync_sandbox::demo::DEMO_PC_TOKEN,
    );
    std::fs::write(&world.config, config).unwrap();
    world
}
