//! Apply under faults, crashes and moved premises, through the real binary: the
//! final Packagecloud state equals the plan's intent, with no duplicates, or apply
//! refuses before changing anything.

use crate::support;
use crate::support::{Run, World};
use pkgsync_sandbox::demo::{DEMO_OBS_PROJECT, DEMO_PC_REPO};
use pkgsync_sandbox::obs::BinaryPath;
use pkgsync_sandbox::{Fault, FaultRule};
use std::time::{Duration, Instant};

/// Plans into `plan.json` and returns the plan's path.
fn plan(world: &World) -> String {
    let path = world.plan_out("plan.json");
    path.to_str().unwrap().to_string()
}

fn apply(world: &World, plan: &str) -> Run {
    world.pkgsync(&["apply", plan, "--config", world.config()])
}

/// What the repository must hold once `plan` is applied: what it holds now, plus
/// the uploads, minus the deletes.
fn intended(world: &World, plan: &str) -> Vec<String> {
    let plan = pkgsync::plan::file::read(std::path::Path::new(plan)).unwrap();
    let mut names: std::collections::BTreeSet<String> =
        world.stored().into_iter().map(|(k, _)| k).collect();
    for action in &plan.actions {
        let key = action.key().to_string();
        match action.action {
            pkgsync::plan::ActionKind::Delete => names.remove(&key),
            _ => names.insert(key),
        };
    }
    names.into_iter().collect()
}

fn assert_converged(world: &World, intended: &[String]) {
    let stored: Vec<String> = world.stored().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        stored, intended,
        "Packagecloud holds exactly the plan's intent, each once"
    );
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
}

#[test]
fn apply_converges_through_obs_and_packagecloud_faults() {
    let world = World::demo();
    let plan = plan(&world);
    let intended = intended(&world, &plan);
    let sandbox = world.sandbox();
    sandbox.obs().set_faults(vec![
        FaultRule::new("kata-runtime-3.2.0-1.1.aarch64.rpm", Fault::Status(502)).times(2),
        FaultRule::new(
            "qemu-kata-8.0.2-1.1.x86_64.rpm",
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
        )
        .times(1),
        FaultRule::new("qemu-kata_8.0.2-1.1_amd64.deb", Fault::Reset).times(2),
        FaultRule::new(
            "kata-containers-image_3.2.0-1.1_all.deb",
            Fault::Truncate { keep_bytes: 100 },
        )
        .times(2),
        FaultRule::new(
            "kata-linux-container-6.1.52-1.1.x86_64.rpm",
            Fault::Delay { millis: 1500 },
        )
        .times(1),
    ]);
    sandbox.packagecloud().set_faults(vec![
        // Stored, but the answer says otherwise: a blind retry would be a duplicate.
        FaultRule::new("/packages", Fault::StoreThenStatus(500))
            .method("POST")
            .times(2),
        FaultRule::new("/packages", Fault::Reset)
            .method("POST")
            .skip(3)
            .times(1),
        FaultRule::new("/packages", Fault::Status(503))
            .method("POST")
            .skip(5)
            .times(1),
        FaultRule::new("kata-proxy", Fault::Status(500))
            .method("DELETE")
            .times(1),
    ]);
    let run = world
        .pkgsync_with(
            &["apply", &plan, "--config", world.config()],
            &[("PKGSYNC_READ_TIMEOUT_MS", "700")],
        )
        .expect(0);
    assert!(run.stdout.contains("1 deleted"), "{}", run.stdout);
    assert_converged(&world, &intended);
    // Every stored upload is one the plan asked for: nothing was posted twice.
    assert_eq!(sandbox.packagecloud().uploads_stored(), 16);
    // The faults did fire: each faulted download was tried again.
    let downloads = |name: &str| {
        sandbox
            .obs()
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(name))
            .count()
    };
    assert_eq!(downloads("kata-runtime-3.2.0-1.1.aarch64.rpm"), 3);
    assert_eq!(downloads("qemu-kata-8.0.2-1.1.x86_64.rpm"), 2);
    assert_eq!(downloads("qemu-kata_8.0.2-1.1_amd64.deb"), 3);
    assert_eq!(downloads("kata-containers-image_3.2.0-1.1_all.deb"), 3);
    assert_eq!(downloads("kata-linux-container-6.1.52-1.1.x86_64.rpm"), 2);
    // Two stored-but-500 answers were resolved by looking, not by posting again;
    // the reset and the 503 were posted again.
    let posts = sandbox
        .packagecloud()
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 18);
    assert_eq!(
        sandbox.packagecloud().upload_attempts(),
        16,
        "each file reached the upload handler once"
    );
}

#[test]
fn a_failing_upload_gives_a_partial_apply_without_deletes_and_a_rerun_finishes() {
    let world = World::demo();
    let plan = plan(&world);
    let intended = intended(&world, &plan);
    // This file cannot be downloaded, whatever the retries.
    world.sandbox().obs().set_faults(vec![
        FaultRule::new("qemu-kata_8.0.2-1.1_arm64.deb", Fault::Status(500)).times(1000),
    ]);
    let run = apply(&world, &plan).expect(5);
    assert!(
        run.stderr.contains("1 of 16 uploads failed"),
        "{}",
        run.stderr
    );
    // One retry loop, bounded: the default policy makes 6 attempts, not 6 × 6.
    let attempts = world
        .sandbox()
        .obs()
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("qemu-kata_8.0.2-1.1_arm64.deb"))
        .count();
    assert_eq!(attempts, 6);
    assert!(
        run.stderr.contains("qemu-kata_8.0.2-1.1_arm64.deb"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1 delete(s) not run"), "{}", run.stderr);
    let stored: Vec<String> = world.stored().into_iter().map(|(k, _)| k).collect();
    assert!(
        stored.iter().any(|k| k.contains("kata-proxy")),
        "no delete after a failed upload"
    );

    world.sandbox().obs().clear_faults();
    let run = apply(&world, &plan).expect(0);
    assert!(
        run.stdout
            .contains("1 uploaded, 0 replaced, 1 deleted, 15 already done"),
        "{}",
        run.stdout
    );
    assert_converged(&world, &intended);
}

#[test]
fn a_killed_apply_converges_on_rerun() {
    let world = World::demo();
    let plan = plan(&world);
    let intended = intended(&world, &plan);
    // Slow uploads, so the process is surely killed half way.
    world.sandbox().packagecloud().set_faults(vec![
        FaultRule::new("/packages", Fault::Delay { millis: 150 })
            .method("POST")
            .times(1000),
    ]);
    let mut child = support::pkgsync_command(world.dir.path())
        .args(["apply", &plan, "--config", world.config(), "--uploads", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while world.sandbox().packagecloud().uploads_stored() < 4 {
        assert!(Instant::now() < deadline, "apply made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partway = world.sandbox().packagecloud().uploads_stored();
    assert!(partway < 16, "killed half way ({partway} stored)");

    world.sandbox().packagecloud().clear_faults();
    let run = apply(&world, &plan).expect(0);
    assert!(run.stdout.contains("already done"), "{}", run.stdout);
    assert_converged(&world, &intended);
    assert_eq!(
        world.sandbox().packagecloud().uploads_stored(),
        16,
        "no upload twice"
    );
}

#[test]
fn a_plan_whose_source_was_rebuilt_is_refused_without_any_change() {
    let world = World::demo();
    let plan = plan(&world);
    let before = world.stored();
    let origin = BinaryPath {
        project: DEMO_OBS_PROJECT.into(),
        repository: "Fedora_39".into(),
        arch: "x86_64".into(),
        package: "qemu-kata".into(),
        filename: "qemu-kata-8.0.2-1.1.x86_64.rpm".into(),
    };
    let rebuilt =
        pkgsync_sandbox::packages::simple_rpm("qemu-kata", "8.0.2", "1.1", "x86_64").unwrap();
    world
        .sandbox()
        .obs()
        .set_binary(&origin, rebuilt, 1_800_000_000);
    let run = apply(&world, &plan).expect(4);
    assert!(run.stderr.contains("the plan is stale"), "{}", run.stderr);
    assert!(
        run.stderr.contains("qemu-kata-8.0.2-1.1.x86_64.rpm"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("rebuilt on OBS"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("\nhint: the sources or Packagecloud moved on")
            && run.stderr.contains("run `pkgsync plan` again"),
        "{}",
        run.stderr
    );
    assert_eq!(world.stored(), before, "nothing changed");
    assert_eq!(world.sandbox().packagecloud().upload_attempts(), 0);
}

#[test]
fn a_plan_whose_target_was_changed_by_someone_else_is_refused_without_any_change() {
    let world = World::demo();
    let plan = plan(&world);
    // Someone uploads another build under a name the plan is about to upload.
    let other =
        pkgsync_sandbox::packages::simple_rpm("qemu-kata", "8.0.2", "1.1", "x86_64").unwrap();
    world
        .sandbox()
        .packagecloud()
        .insert_package(DEMO_PC_REPO, "fedora/39", other)
        .unwrap();
    let before = world.stored();
    let attempts = world.sandbox().packagecloud().upload_attempts();
    // A content conflict: exit 6, nothing changed.
    let run = apply(&world, &plan).expect(6);
    assert!(
        run.stderr
            .contains("Packagecloud holds other content under 1 name(s) the plan uploads"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("fedora/39/qemu-kata-8.0.2-1.1.x86_64.rpm"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "\nhint: Packagecloud got other bytes under a planned name after the plan was made, or the source rebuilt it: check who uploaded `fedora/39/qemu-kata-8.0.2-1.1.x86_64.rpm`, then run `pkgsync plan` again"
        ) && run.stderr.contains("set `sync.replace: true`"),
        "{}",
        run.stderr
    );
    assert_eq!(world.stored(), before);
    assert_eq!(world.sandbox().packagecloud().upload_attempts(), attempts);
}

#[test]
fn a_config_edited_after_planning_is_refused() {
    let world = World::demo();
    let plan = plan(&world);
    world.edit_config("max_delete_percent: 50", "max_delete_percent: 60");
    let before = world.stored();
    let run = apply(&world, &plan).expect(4);
    assert!(run.stderr.contains("the config differs"), "{}", run.stderr);
    assert!(
        run.stderr.contains("`sync.max_delete_percent`: 50 → 60"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("\nhint: the plan records the digest of the config it was made with")
            && run.stderr.contains("run `pkgsync plan` again"),
        "{}",
        run.stderr
    );
    assert_eq!(world.stored(), before);
}

#[test]
fn a_hand_edited_plan_is_refused() {
    let world = World::demo();
    let plan = plan(&world);
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(&plan, text.replacen("kata-proxy", "kata-prox0", 1)).unwrap();
    let run = apply(&world, &plan).expect(1);
    assert!(
        run.stderr.contains("was modified after it was written"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("\nhint: a plan is applied only as `pkgsync plan` wrote it"),
        "{}",
        run.stderr
    );
    assert_eq!(world.sandbox().packagecloud().upload_attempts(), 0);
}

#[test]
fn the_journal_records_every_action() {
    let world = World::demo();
    let plan = plan(&world);
    let journal = world.path("journal.jsonl");
    world
        .pkgsync(&[
            "apply",
            &plan,
            "--config",
            world.config(),
            "--journal",
            journal.to_str().unwrap(),
        ])
        .expect(0);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 17);
    assert_eq!(
        lines.iter().filter(|l| l["outcome"] == "uploaded").count(),
        16
    );
    assert_eq!(
        lines.iter().filter(|l| l["outcome"] == "deleted").count(),
        1
    );
    assert!(
        lines
            .iter()
            .all(|l| l["plan_id"].as_str().unwrap().starts_with("blake3:"))
    );
}

#[test]
fn two_applies_cannot_share_a_cache() {
    let world = World::demo();
    let plan = plan(&world);
    world.sandbox().packagecloud().set_faults(vec![
        FaultRule::new("/packages", Fault::Delay { millis: 300 })
            .method("POST")
            .times(1000),
    ]);
    let cache = world.path("shared-cache");
    let mut first = support::pkgsync_command(world.dir.path())
        .args([
            "apply",
            &plan,
            "--config",
            world.config(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while world.sandbox().packagecloud().upload_attempts() == 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = world
        .pkgsync(&[
            "apply",
            &plan,
            "--config",
            world.config(),
            "--cache-dir",
            cache.to_str().unwrap(),
        ])
        .expect(1);
    assert!(
        second
            .stderr
            .contains("another pkgsync apply is using the download cache"),
        "{}",
        second.stderr
    );
    assert!(first.wait().unwrap().success());
}
