//! Apply's check phase changes nothing: a plan it refuses (stale, made with
//! another config, past a deletion guard) costs reads only, on both sides.

use crate::support::World;
use pkgsync_sandbox::RecordedRequest;
use pkgsync_sandbox::demo::{DEMO_OBS_PROJECT, DEMO_PC_REPO};
use pkgsync_sandbox::obs::BinaryPath;

/// Every request either emulator received since `before` (counts per side).
fn requests_since(world: &World, before: (usize, usize)) -> Vec<RecordedRequest> {
    let sandbox = world.sandbox();
    let obs = sandbox.obs().requests();
    let packagecloud = sandbox.packagecloud().requests();
    obs[before.0..]
        .iter()
        .chain(&packagecloud[before.1..])
        .cloned()
        .collect()
}

fn counts(world: &World) -> (usize, usize) {
    let sandbox = world.sandbox();
    (
        sandbox.obs().requests().len(),
        sandbox.packagecloud().requests().len(),
    )
}

/// Applies `plan`, expecting `code`, and checks that only GETs were made and
/// that Packagecloud holds what it held.
fn refused_with_reads_only(world: &World, plan: &std::path::Path, code: i32, says: &str) {
    let stored = world.stored();
    let before = counts(world);
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(code);
    assert!(run.stderr.contains(says), "{}", run.stderr);
    let requests = requests_since(world, before);
    let writes: Vec<String> = requests
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "the check phase wrote: {writes:?}");
    assert_eq!(world.stored(), stored);
}

#[test]
fn a_stale_plan_costs_reads_only() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    // One file the plan uploads is rebuilt on OBS.
    let origin = BinaryPath {
        project: DEMO_OBS_PROJECT.into(),
        repository: "Fedora_39".into(),
        arch: "x86_64".into(),
        package: "qemu-kata".into(),
        filename: "qemu-kata-8.0.2-1.1.x86_64.rpm".into(),
    };
    let bytes =
        pkgsync_sandbox::packages::simple_rpm("qemu-kata", "8.0.2", "1.1", "x86_64").unwrap();
    world
        .sandbox()
        .obs()
        .set_binary(&origin, bytes, 1_900_000_000);
    refused_with_reads_only(&world, &plan, 4, "was rebuilt on OBS");
}

#[test]
fn a_plan_of_another_config_makes_no_request_at_all() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    world.edit_config("max_delete_percent: 50", "max_delete_percent: 40");
    let before = counts(&world);
    refused_with_reads_only(&world, &plan, 4, "the config differs");
    assert!(requests_since(&world, before).is_empty());
}

#[test]
fn a_deletion_guard_tripped_at_apply_costs_reads_only() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    // Everything but the orphan goes from Packagecloud: its one delete is now
    // all of the scope, past `max_delete_percent: 50`.
    let packagecloud = world.sandbox().packagecloud();
    for (path, _) in world.stored() {
        let (distro_version, filename) = path.rsplit_once('/').unwrap();
        if filename != "kata-proxy-1.11.0-1.1.x86_64.rpm" {
            assert!(packagecloud.remove_package(DEMO_PC_REPO, distro_version, filename));
        }
    }
    refused_with_reads_only(&world, &plan, 3, "deletion guard tripped");
}
