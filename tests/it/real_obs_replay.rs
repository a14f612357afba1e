//! The real OBS backend's recorded answers (`tests/fixtures/obs-real/`, one
//! run of Debian's `obs-server` 2.9.4 seeded by `tests/obs-backend/start.sh`)
//! served again as the OBS API, planned against the Packagecloud emulator.
//! The plan must be byte for byte `tests/fixtures/plans/real-obs.json`, which
//! the code before the source interface planned from the same answers (its
//! README names the commit): the OBS build API behind `Source` plans what the
//! code that knew only OBS planned, also for a real backend's quirks. Runs in
//! the fast set; no backend needed.

use crate::support;
use crate::support::replay::Replay;
use pkgsync_sandbox::demo::DEMO_PC_REPO;
use pkgsync_sandbox::packages::{simple_deb, simple_rpm};
use std::path::Path;

const PROJECT: &str = "home:pkgsync:test";

/// Packagecloud before the plan: one file under a name OBS builds (present:
/// the build API lists no sha256 to compare) and one orphan per distro (mirror
/// mode would delete it, but `broken` failed in both repositories).
fn seed() -> pkgsync_sandbox::Seed {
    let mut seed = pkgsync_sandbox::Seed::empty();
    let pc = &mut seed.packagecloud;
    let rpm = |name, release| simple_rpm(name, "1.0", release, "x86_64").unwrap();
    let deb = |name, version| simple_deb(name, version, "amd64").unwrap();
    pc.package(DEMO_PC_REPO, "fedora/39", rpm("hello", "1.1"));
    pc.package(DEMO_PC_REPO, "fedora/39", rpm("stale", "1"));
    pc.package(DEMO_PC_REPO, "ubuntu/jammy", deb("hello", "1.0-1.1"));
    pc.package(DEMO_PC_REPO, "ubuntu/jammy", deb("gone", "0.1"));
    seed
}

#[test]
fn the_recorded_real_backend_plans_byte_for_byte_what_the_obs_only_code_planned() {
    let recording = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/obs-real");
    let obs = Replay::start(&recording);
    // Credentials: the backend serves the direct routes, not `/public`.
    let world = support::world_with(
        seed(),
        &format!(
            "obs:\n  url: {}\n  auth:\n    user: tester\n    password: not-checked\n\
obsprojects:\n  {PROJECT}: {{}}\n\
distro-mapping:\n  Fedora_39: fedora/39\n  xUbuntu_22.04: ubuntu/jammy\n",
            obs.url()
        ),
    );
    let out = world.path("plan.json");
    let run = world.pkgsync(&[
        "plan",
        "--config",
        world.config(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        obs.unknown(),
        Vec::<String>::new(),
        "requests not in {}",
        recording.display()
    );
    run.expect(0);
    assert_eq!(
        obs.served(),
        [
            format!("GET /source/{PROJECT}/_meta"),
            format!("GET /build/{PROJECT}/_result?view=binarylist&view=status"),
        ],
        "two requests per project"
    );

    let plan = std::fs::read_to_string(&out).unwrap();
    let normalised = support::golden::normalise(
        &plan,
        &[
            (obs.url(), "http://OBS"),
            (world.sandbox().packagecloud_url(), "http://PACKAGECLOUD"),
        ],
    );
    support::golden::assert_recorded(&normalised, "real-obs.json");

    // What the recording makes of it, so that a fixture recorded wrong shows.
    let plan = pkgsync::plan::file::read(&out).unwrap();
    assert_eq!(
        (
            plan.summary.upload,
            plan.summary.unchanged,
            plan.summary.delete
        ),
        (24, 2, 0),
        "{:?}",
        plan.summary
    );
    assert_eq!(plan.withheld.len(), 2, "the orphans wait for `broken`");
}
