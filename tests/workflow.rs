//! The plan → apply → plan workflow through the real binary against the sandbox.

mod common;
use common::World;

#[test]
fn plan_apply_plan_converges_and_reruns_change_nothing() {
    let world = World::demo();
    let before = world.stored();
    assert!(
        before
            .iter()
            .any(|(k, _)| k == "fedora/39/kata-proxy-1.11.0-1.1.x86_64.rpm")
    );

    let plan = world.path("plan.json");
    let run = world
        .pkgsync(&[
            "plan",
            "--config",
            world.config(),
            "--out",
            plan.to_str().unwrap(),
            "--detailed-exitcode",
        ])
        .expect(2);
    assert!(
        run.stdout
            .starts_with("Plan: 16 to upload, 1 to delete, 2 unchanged."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("- delete  kata-proxy-1.11.0-1.1.x86_64.rpm"),
        "{}",
        run.stdout
    );

    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);
    assert!(
        run.stdout
            .contains("Apply complete: 16 uploaded, 0 replaced, 1 deleted"),
        "{}",
        run.stdout
    );

    let after = world.stored();
    assert_eq!(after.len(), before.len() + 16 - 1);
    assert!(!after.iter().any(|(k, _)| k.contains("kata-proxy")));
    // The package in the unmapped distro version was left alone.
    assert!(after.iter().any(|(k, _)| k.starts_with("el/7/")));
    // No duplicates: every (distro/version, filename) once.
    let mut keys: Vec<&String> = after.iter().map(|(k, _)| k).collect();
    keys.dedup();
    assert_eq!(keys.len(), after.len());

    let run = world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
    assert!(run.stdout.starts_with("No changes."), "{}", run.stdout);

    // A second apply of the first plan changes nothing.
    let uploads_before = world.sandbox().packagecloud().upload_attempts();
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);
    assert!(
        run.stdout
            .contains("0 uploaded, 0 replaced, 0 deleted, 17 already done"),
        "{}",
        run.stdout
    );
    assert_eq!(
        world.sandbox().packagecloud().upload_attempts(),
        uploads_before
    );
    assert_eq!(world.stored(), after);
}

#[test]
fn planning_twice_on_unchanged_state_gives_identical_files() {
    let world = World::demo();
    let first = world.path("first.json");
    let second = world.path("second.json");
    world
        .pkgsync(&[
            "plan",
            "--config",
            world.config(),
            "--out",
            first.to_str().unwrap(),
        ])
        .expect(0);
    world
        .pkgsync(&[
            "plan",
            "--config",
            world.config(),
            "--out",
            second.to_str().unwrap(),
        ])
        .expect(0);
    let a = std::fs::read(&first).unwrap();
    let b = std::fs::read(&second).unwrap();
    assert_eq!(a, b);
    let text = String::from_utf8(a).unwrap();
    assert!(
        !text.contains(world.dir.path().to_str().unwrap()),
        "no local paths"
    );
    assert!(
        !text.contains(pkgsync::sandbox::demo::DEMO_PC_TOKEN),
        "no token"
    );
    assert!(
        !text.contains(pkgsync::sandbox::demo::DEMO_OBS_PASSWORD),
        "no password"
    );

    let run = world
        .pkgsync(&["diff", first.to_str().unwrap(), second.to_str().unwrap()])
        .expect(0);
    assert!(run.stdout.contains("same actions"), "{}", run.stdout);
    let run = world
        .pkgsync(&["show", first.to_str().unwrap(), "--format", "markdown"])
        .expect(0);
    assert!(
        run.stdout.contains("kata-proxy-1.11.0-1.1.x86_64.rpm"),
        "{}",
        run.stdout
    );
}

#[test]
fn demo_command_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let run = common::Run::from(
        common::pkgsync_command(dir.path())
            .args(["demo", "--dir", dir.path().join("demo").to_str().unwrap()])
            .output()
            .unwrap(),
    )
    .expect(0);
    assert!(
        run.stdout
            .contains("Plan: 16 to upload, 1 to delete, 2 unchanged."),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("No changes. 18 package(s) unchanged."),
        "{}",
        run.stdout
    );
    assert!(dir.path().join("demo/demo-plan.json").exists());
}
