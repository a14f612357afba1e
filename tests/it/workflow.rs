//! The plan → apply → plan workflow through the real binary against the sandbox.

use crate::support;
use crate::support::World;
use pkgsync::model::{ObsBuilt, Provenance};
use pkgsync_sandbox::demo::DEMO_PC_REPO;
use std::path::Path;

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
        !text.contains(pkgsync_sandbox::demo::DEMO_PC_TOKEN),
        "no token"
    );
    assert!(
        !text.contains(pkgsync_sandbox::demo::DEMO_OBS_PASSWORD),
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
    let run = support::Run::from(
        support::pkgsync_command(dir.path())
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
    // The published repositories' part: 9 rpms into fedora/40 and 9 debs
    // into ubuntu/noble, both verified against the sandbox's key, then nothing.
    assert!(
        run.stdout
            .contains("Plan: 18 to upload, 0 to delete, 0 unchanged.")
            && run.stdout.contains("Planned again: no changes."),
        "{}",
        run.stdout
    );
    let fingerprint = run
        .stdout
        .split("verified against the publisher's key ")
        .nth(1)
        .and_then(|rest| rest.get(..40))
        .filter(|f| f.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("the key's fingerprint in:\n{}", run.stdout));
    for distro in ["fedora/40", "ubuntu/noble"] {
        let line = format!(" → {distro}: signed by {fingerprint}");
        assert!(run.stdout.contains(&line), "{line:?} in:\n{}", run.stdout);
    }
}

#[test]
fn a_tripped_deletion_guard_exits_3_naming_the_deletes_until_allowed() {
    let world = World::demo();
    world.edit_config(
        "max_delete_percent: 50",
        "max_delete_percent: 50\n  max_deletes: 0",
    );
    let plan = world.path("plan.json");
    let run = world
        .pkgsync(&[
            "plan",
            "--config",
            world.config(),
            "--out",
            plan.to_str().unwrap(),
        ])
        .expect(3);
    assert!(
        run.stderr.contains("deletion guard tripped"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("fedora/39/kata-proxy-1.11.0-1.1.x86_64.rpm"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("\nif that is intended, plan again with `--allow-deletes 1`"),
        "{}",
        run.stderr
    );
    assert!(!plan.exists(), "no plan file from a refused plan");

    world
        .pkgsync(&[
            "plan",
            "--config",
            world.config(),
            "--out",
            plan.to_str().unwrap(),
            "--allow-deletes",
            "1",
        ])
        .expect(0);
    let written = pkgsync::plan::file::read(&plan).unwrap();
    assert_eq!(written.guards.allow_deletes, Some(1));
    assert_eq!(written.summary.delete, 1);
}

#[test]
fn an_unknown_distro_fails_the_plan_naming_the_closest() {
    let world = World::demo();
    world.edit_config("ubuntu/jammy", "ubuntu/jamy");
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(1);
    assert!(
        run.stderr
            .contains("Packagecloud has no distribution `ubuntu/jamy`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("closest: `ubuntu/jammy`"),
        "{}",
        run.stderr
    );
    // OBS is read at the same time as the distributions (they are independent),
    // but nothing beyond the one `_result` of the project.
    let binary_lists = world
        .sandbox()
        .obs()
        .requests()
        .into_iter()
        .filter(|r| r.query.as_deref().is_some_and(|q| q.contains("withmd5")))
        .count();
    assert_eq!(binary_lists, 0, "no per-package reads");
}

#[test]
fn a_version_number_mapping_matches_the_index_name_on_packagecloud() {
    let world = World::demo();
    world.edit_config("ubuntu/jammy", "ubuntu/22.04");
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(0);
    // The deb already on `ubuntu/jammy` is recognised, nothing there is deleted.
    assert!(
        run.stdout
            .starts_with("Plan: 16 to upload, 1 to delete, 2 unchanged."),
        "{}",
        run.stdout
    );
}

#[test]
fn show_and_diff_refuse_an_edited_plan_and_diff_names_changes() {
    let world = World::demo();
    let first = world.plan_out("first.json");
    let applied = world.path("applied.json");
    std::fs::copy(&first, &applied).unwrap();
    world
        .pkgsync(&[
            "apply",
            applied.to_str().unwrap(),
            "--config",
            world.config(),
        ])
        .expect(0);
    let second = world.plan_out("second.json");
    let run = world
        .pkgsync(&["diff", first.to_str().unwrap(), second.to_str().unwrap()])
        .expect(1);
    assert!(
        run.stdout
            .contains("fedora/39:\n  - delete kata-proxy-1.11.0-1.1.x86_64.rpm"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("→ No changes."), "{}", run.stdout);

    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(&first, text.replacen("\"size\":", "\"size\":1", 1)).unwrap();
    let run = world.pkgsync(&["show", first.to_str().unwrap()]).expect(1);
    assert!(
        run.stderr.contains("was modified after it was written"),
        "{}",
        run.stderr
    );
    world
        .pkgsync(&["diff", first.to_str().unwrap(), second.to_str().unwrap()])
        .expect(1);
}

#[test]
fn the_sandbox_command_serves_until_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sandbox.yaml");
    let mut child = support::pkgsync_command(dir.path())
        .args(["sandbox", "--write-config", config.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The sandbox serves before it writes the config, and writes it by a
    // rename: once the file is there, it is whole and the servers answer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !config.exists() {
        assert!(std::time::Instant::now() < deadline, "no config written");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let run = support::Run::from(
        support::pkgsync_command(dir.path())
            .args(["plan", "--config", config.to_str().unwrap()])
            .output()
            .unwrap(),
    )
    .expect(0);
    assert!(
        run.stdout.starts_with("Plan: 16 to upload"),
        "{}",
        run.stdout
    );
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success(), "stops cleanly on Ctrl-C");
}

/// The OBS requests of one `plan` run, as `path?query`.
fn obs_requests_of_plan(world: &World) -> Vec<String> {
    world.sandbox().obs().clear_requests();
    world.plan_out("plan.json");
    world
        .sandbox()
        .obs()
        .requests()
        .into_iter()
        .map(|r| format!("{}?{}", r.path, r.query.unwrap_or_default()))
        .collect()
}

#[test]
fn a_plan_of_a_thousand_new_packages_asks_obs_twice() {
    use pkgsync_sandbox::demo::{DEMO_OBS_PROJECT, DEMO_RPM_REPOSITORY};
    let mut seed = pkgsync_sandbox::Seed::demo();
    let project = seed.obs.project(DEMO_OBS_PROJECT);
    for i in 0..1000 {
        let name = format!("many-{i}");
        let rpm = pkgsync_sandbox::packages::simple_rpm(&name, "1.0", "1", "x86_64").unwrap();
        project.set_binary(
            DEMO_RPM_REPOSITORY,
            "x86_64",
            &name,
            &format!("{name}-1.0-1.x86_64.rpm"),
            rpm,
            1_800_000_000,
        );
    }
    let world = World::with_seed(seed);
    let requests = obs_requests_of_plan(&world);
    assert_eq!(
        requests.len(),
        2,
        "one `_meta` and one `_result` for the project, whatever its size: {requests:#?}"
    );
    let plan = pkgsync::plan::file::read(&world.path("plan.json")).unwrap();
    assert!(plan.summary.upload > 1000, "{:?}", plan.summary);
    assert!(
        plan.actions
            .iter()
            .filter_map(|a| a.source.as_ref())
            .all(|s| s.md5.is_none()),
        "uploads are identified by size and mtime; apply reads the md5"
    );
}

#[test]
fn apply_verifies_every_download_against_the_md5_obs_lists_at_apply() {
    use pkgsync_sandbox::{Fault, FaultRule};
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    let damaged = "qemu-kata-8.0.2-1.1.x86_64.rpm";
    world.sandbox().obs().set_faults(vec![
        FaultRule::new(damaged, Fault::CorruptBody).times(1000),
    ]);
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(5);
    assert!(
        run.stderr.contains("md5") && run.stderr.contains(damaged),
        "{}",
        run.stderr
    );
    assert!(
        !world
            .stored()
            .iter()
            .any(|(k, _)| k.ends_with(&format!("/{damaged}"))),
        "the damaged download was not uploaded"
    );
    world.sandbox().obs().clear_faults();
    world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);
}

#[test]
fn a_plan_in_format_1_0_with_md5s_still_applies() {
    use md5::Digest;
    let world = World::demo();
    let path = world.plan_out("plan.json");
    let mut plan = pkgsync::plan::file::read(&path).unwrap();
    plan.format_version = "1.0".into();
    // Plans of 1.0 carried the md5 of every upload, read at plan time.
    let obs = world.sandbox().obs();
    for action in &mut plan.actions {
        let Some(source) = action.source.as_mut() else {
            continue;
        };
        let Provenance::Obs(ObsBuilt { origin, .. }) = &source.provenance else {
            panic!("the demo plans from OBS only");
        };
        let bytes = obs.with_state(|state| {
            let project = &state.projects[&*origin.project];
            project.builds[&pkgsync_sandbox::obs::BuildKey::new(
                &origin.repository,
                &origin.arch,
                &origin.package,
            )]
                .binaries[&origin.filename]
                .bytes
                .clone()
        });
        source.md5 = Some(hex::encode(md5::Md5::digest(&bytes)));
    }
    plan.plan_id = pkgsync::plan::file::plan_id(&plan);
    pkgsync::plan::file::write(&plan, &path).unwrap();
    world
        .pkgsync(&["apply", path.to_str().unwrap(), "--config", world.config()])
        .expect(0);
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
}

const COMMANDS: [&str; 10] = [
    "init",
    "plan",
    "show",
    "apply",
    "check",
    "diff",
    "demo",
    "sandbox",
    "completions",
    "man",
];

#[test]
fn completions_cover_every_command_in_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = support::pkgsync_command(dir.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        let run = support::Run::from(output).expect(0);
        for command in COMMANDS {
            assert!(
                run.stdout.contains(command),
                "{shell}: `{command}` completes"
            );
        }
        assert!(
            run.stdout.contains("detailed-exitcode"),
            "{shell}: flags complete"
        );
    }
}

#[test]
fn man_pages_are_written_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man");
    let output = support::pkgsync_command(dir.path())
        .args(["man", "--out-dir", out.to_str().unwrap()])
        .output()
        .unwrap();
    support::Run::from(output).expect(0);
    let pages = std::iter::once("pkgsync".to_string())
        .chain(COMMANDS.iter().map(|c| format!("pkgsync-{c}")));
    for page in pages {
        let text = std::fs::read_to_string(out.join(format!("{page}.1"))).unwrap();
        assert!(text.contains(&format!(".TH {page} 1")), "{page}: {text}");
        assert!(text.contains(".SH SYNOPSIS"), "{page}");
    }
    let plan = std::fs::read_to_string(out.join("pkgsync-plan.1")).unwrap();
    assert!(plan.contains("detailed\\-exitcode"), "{plan}");
    let listed = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(listed, COMMANDS.len() + 1, "one page per command, no more");
}

#[test]
fn color_is_chosen_by_the_flag_and_never_by_default_off_a_terminal() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    let show = |extra: &[&str], envs: &[(&str, &str)]| {
        let mut args = vec!["show", plan.to_str().unwrap()];
        args.extend_from_slice(extra);
        world.pkgsync_with(&args, envs).expect(0).stdout
    };
    // `pkgsync_with` sets NO_COLOR; an explicit `always` still colours.
    assert!(show(&["--color", "always"], &[]).contains("\u{1b}["));
    assert!(!show(&["--color", "never"], &[]).contains('\u{1b}'));
    assert!(!show(&[], &[]).contains('\u{1b}'), "auto with NO_COLOR");
    // Without NO_COLOR, auto still does not colour a pipe.
    let output = support::pkgsync_command(world.dir.path())
        .env_remove("NO_COLOR")
        .args(["show", plan.to_str().unwrap(), "--color", "auto"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stdout).contains('\u{1b}'));
    // Every command takes it.
    world
        .pkgsync(&["--color", "never", "plan", "--config", world.config()])
        .expect(0);
}

#[test]
fn apply_as_json_lines_counts_what_its_summary_says() {
    use pkgsync_sandbox::{Fault, FaultRule};
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    // One download fails for good, so the run is partial and its deletes wait.
    world.sandbox().obs().set_faults(vec![
        FaultRule::new("qemu-kata-8.0.2-1.1.x86_64.rpm", Fault::Status(404)).times(1000),
    ]);
    for expected_code in [5, 0] {
        let run = world
            .pkgsync(&[
                "apply",
                plan.to_str().unwrap(),
                "--config",
                world.config(),
                "--format",
                "json",
            ])
            .expect(expected_code);
        let lines: Vec<serde_json::Value> = run
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let (summary, actions) = lines.split_last().unwrap();
        assert_eq!(summary["type"], "summary");
        assert_eq!(summary["complete"], expected_code == 0);
        let counts = summary["counts"].as_object().unwrap();
        let total: u64 = counts.values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(total as usize, actions.len(), "one line per record");
        for (outcome, n) in counts {
            let seen = actions.iter().filter(|a| a["outcome"] == *outcome).count();
            assert_eq!(seen as u64, n.as_u64().unwrap(), "{outcome}");
        }
        assert!(
            actions
                .iter()
                .all(|a| a["filename"].is_string() && a["action"].is_string())
        );
        world.sandbox().obs().clear_faults();
    }
}

#[test]
fn check_passes_on_the_sandbox_and_names_each_failure() {
    let world = World::demo();
    let run = world
        .pkgsync(&["check", "--config", world.config()])
        .expect(0);
    assert!(run.stdout.contains("All "), "{}", run.stdout);
    assert!(!run.stdout.contains("FAIL"), "{}", run.stdout);
    assert!(
        run.stdout.contains("write access cannot be verified"),
        "{}",
        run.stdout
    );
    let requests = world.sandbox().packagecloud().requests();
    assert!(
        requests.iter().all(|r| r.method == "GET"),
        "read-only: {requests:?}"
    );

    let original = std::fs::read_to_string(&world.config).unwrap();
    let obs_url = world.sandbox().obs_url().to_string();
    let cases = [
        (
            pkgsync_sandbox::demo::DEMO_PC_TOKEN.to_string(),
            "0".repeat(48),
            "rejected the API token",
        ),
        (
            format!("repo: {}", pkgsync_sandbox::demo::DEMO_PC_REPO),
            "repo: demo/nosuchrepo".to_string(),
            "no repository `demo/nosuchrepo`",
        ),
        (
            obs_url,
            "http://127.0.0.1:1".to_string(),
            "could not connect",
        ),
        (
            "obsprojects:\n".to_string(),
            "obsprojects:\n  home:nosuchproject: {}\n".to_string(),
            "home:nosuchproject",
        ),
        (
            "ubuntu/jammy".to_string(),
            "ubuntu/jamy".to_string(),
            "no distribution `ubuntu/jamy`",
        ),
    ];
    for (from, to, expected) in cases {
        assert!(original.contains(&from), "{from}");
        std::fs::write(&world.config, original.replace(&from, &to)).unwrap();
        let run = world
            .pkgsync(&["check", "--config", world.config()])
            .expect(1);
        let failed: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with("FAIL"))
            .collect();
        assert_eq!(
            failed.len(),
            1,
            "one failed line for `{to}`:\n{}",
            run.stdout
        );
        assert!(
            failed[0].contains(expected),
            "`{expected}` in {}",
            failed[0]
        );
        assert!(!run.stdout.contains("demo-password"), "{}", run.stdout);
    }
}

#[test]
fn init_writes_a_config_that_plans_as_written_and_never_overwrites() {
    use pkgsync_sandbox::demo::{
        DEMO_OBS_PASSWORD, DEMO_OBS_PROJECT, DEMO_OBS_USER, DEMO_PC_REPO, DEMO_PC_TOKEN,
    };
    let world = World::demo();
    let out = world.path("new.yaml");
    let credentials = [
        ("OBS_USER", DEMO_OBS_USER),
        ("OBS_PASSWORD", DEMO_OBS_PASSWORD),
        ("PACKAGECLOUD_TOKEN", DEMO_PC_TOKEN),
    ];
    let init = [
        "init",
        "--obs-project",
        DEMO_OBS_PROJECT,
        "--repo",
        DEMO_PC_REPO,
        "--obs-url",
        world.sandbox().obs_url(),
        "--packagecloud-url",
        world.sandbox().packagecloud_url(),
        "--out",
        out.to_str().unwrap(),
    ];
    world.pkgsync_with(&init, &credentials).expect(0);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("Fedora_39: fedora/39"), "{text}");
    assert!(text.contains("xUbuntu_22.04: ubuntu/jammy"), "{text}");
    assert!(!text.contains(DEMO_PC_TOKEN) && !text.contains(DEMO_OBS_PASSWORD));
    let plan = world
        .pkgsync_with(&["plan", "--config", out.to_str().unwrap()], &credentials)
        .expect(0);
    assert!(plan.stdout.contains("to upload"), "{}", plan.stdout);

    // It never overwrites without --force.
    std::fs::write(&out, "mine").unwrap();
    let run = world.pkgsync_with(&init, &credentials).expect(1);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "mine");
    let mut forced = init.to_vec();
    forced.push("--force");
    world.pkgsync_with(&forced, &credentials).expect(0);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        text,
        "deterministic"
    );
}

/// `init` against a real project's meta (`tests/fixtures/obs/`), served as
/// recorded: its repositories are mapped where the match is sure, the rest
/// left empty, and the config plans as written.
#[test]
fn init_maps_a_recorded_real_project_meta_and_the_config_plans() {
    let meta = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/obs/network-tools-meta.xml"),
    )
    .unwrap();
    let name = "home:ciriarte:network-tools";
    // The project exists (its build results are empty); its meta is the recorded one.
    let mut seed = pkgsync_sandbox::Seed::demo();
    let project = seed.obs.project(name);
    for line in meta
        .lines()
        .filter_map(|l| l.trim().strip_prefix("<repository name=\""))
    {
        project.repository(line.trim_end_matches("\">"), &["x86_64", "aarch64"]);
    }
    let world = World::with_seed(seed);
    world
        .sandbox()
        .obs()
        .set_canned_answers(vec![pkgsync_sandbox::CannedAnswer::new(
            format!("/source/{name}/_meta"),
            200,
            meta,
        )]);
    let out = world.path("network-tools.yaml");
    let run = init_into(&world, name, &out);
    let text = std::fs::read_to_string(&out).unwrap();
    for mapped in [
        "openSUSE_Leap_15.5: opensuse/15.5",
        "openSUSE_Leap_15.6: opensuse/15.6",
        "Rocky_9: el/9",
        "Ubuntu_22.04: ubuntu/jammy",
        "Ubuntu_24.04: ubuntu/noble",
    ] {
        assert!(text.contains(mapped), "`{mapped}` in\n{text}");
    }
    for unsure in ["openSUSE_Tumbleweed", "openSUSE_Slowroll"] {
        assert_left_empty(&text, &run, unsure);
    }
    world
        .pkgsync_with(
            &["plan", "--config", out.to_str().unwrap()],
            &INIT_CREDENTIALS,
        )
        .expect(0);
}

const INIT_CREDENTIALS: [(&str, &str); 3] = [
    ("OBS_USER", pkgsync_sandbox::demo::DEMO_OBS_USER),
    ("OBS_PASSWORD", pkgsync_sandbox::demo::DEMO_OBS_PASSWORD),
    ("PACKAGECLOUD_TOKEN", pkgsync_sandbox::demo::DEMO_PC_TOKEN),
];

/// `pkgsync init` of `project` into `demo/kata`, written to `out`; it succeeds.
fn init_into(world: &World, project: &str, out: &Path) -> support::Run {
    let init = [
        "init",
        "--obs-project",
        project,
        "--repo",
        "demo/kata",
        "--obs-url",
        world.sandbox().obs_url(),
        "--packagecloud-url",
        world.sandbox().packagecloud_url(),
        "--out",
        out.to_str().unwrap(),
    ];
    world.pkgsync_with(&init, &INIT_CREDENTIALS).expect(0)
}

/// `init` wrote `repository` unmapped (an empty value) and named it.
fn assert_left_empty(text: &str, run: &support::Run, repository: &str) {
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with(&format!("{repository}:")) && !l.contains('/')),
        "`{repository}` left empty:\n{text}"
    );
    assert!(run.stderr.contains(repository), "{}", run.stderr);
}

#[test]
fn init_leaves_repositories_without_a_sure_match_empty_and_names_them() {
    // A project with many OBS naming families, as real projects have.
    let mut seed = pkgsync_sandbox::Seed::demo();
    let archs = ["x86_64"];
    let project = seed.obs.project("home:many");
    for repository in [
        "xUbuntu_24.04",
        "Debian_12",
        "Fedora_40",
        "openSUSE_Leap_15.6",
        "openSUSE_Tumbleweed",
        "SLE_15_SP5",
        "CentOS_8_Stream",
        "RHEL_9",
        "Raspbian_12",
        "Mageia_9",
    ] {
        project.repository(repository, &archs);
    }
    let world = World::with_seed(seed);
    let out = world.path("many.yaml");
    let run = init_into(&world, "home:many", &out);
    let text = std::fs::read_to_string(&out).unwrap();
    for mapped in [
        "xUbuntu_24.04: ubuntu/noble",
        "Debian_12: debian/bookworm",
        "Fedora_40: fedora/40",
        "openSUSE_Leap_15.6: opensuse/15.6",
        "SLE_15_SP5: sles/15.5",
        "CentOS_8_Stream: el/8",
        "RHEL_9: el/9",
        "Raspbian_12: raspbian/bookworm",
    ] {
        assert!(text.contains(mapped), "`{mapped}` in\n{text}");
    }
    for unsure in ["openSUSE_Tumbleweed", "Mageia_9"] {
        assert_left_empty(&text, &run, unsure);
    }
    assert!(text.contains("closest: opensuse/"), "{text}");
    world
        .pkgsync_with(
            &["check", "--config", out.to_str().unwrap()],
            &INIT_CREDENTIALS,
        )
        .expect(0);
}

#[test]
fn the_ci_workflows_pass_actionlint() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let lint = |files: &[&std::path::Path]| {
        let output = std::process::Command::new(root.join("tests/actionlint/run.sh"))
            .args(files)
            .output()
            .unwrap();
        support::Run::from(output)
    };
    let workflows = [
        "pkgsync-plan.yml",
        "pkgsync-apply.yml",
        "pkgsync-promote.yml",
    ]
    .map(|name| root.join("examples/github-actions").join(name));
    let run = lint(&workflows.each_ref().map(|w| w.as_path()));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.matches("linted ").count(), 3, "{}", run.stdout);

    // The linter finds what is wrong: a misspelt context and a job without a runner.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        "on: push\njobs:\n  a:\n    steps:\n      - run: echo ${{ github.evnt.name }}\n",
    )
    .unwrap();
    let run = lint(&[&broken]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("runs-on"), "{}", run.stdout);
}

/// Runs the `run:` steps of one job of a workflow in `examples/github-actions/`
/// (`file.yml` for its first job, `file.yml:job` for another)
/// with bash, as GitHub does (`bash -e`), in `dir`, with `pkgsync` (the binary
/// under test) and a recording fake `gh` on the PATH. `uses:` steps and the
/// installation of pkgsync are skipped; after a failure only `if: always()` steps
/// run. Returns each run step's name and exit code.
fn run_workflow_steps(
    world: &World,
    workflow: &str,
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> Vec<(String, i32)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (workflow, job_name) = workflow.split_once(':').unwrap_or((workflow, ""));
    let text =
        std::fs::read_to_string(root.join("examples/github-actions").join(workflow)).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let jobs = yaml["jobs"].as_mapping().unwrap();
    let (_, job) = jobs
        .iter()
        .find(|(name, _)| job_name.is_empty() || name.as_str() == Some(job_name))
        .unwrap();
    let bin = world.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let _ = std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_pkgsync"), bin.join("pkgsync"));
    let gh = bin.join("gh");
    std::fs::write(
        &gh,
        "#!/bin/sh\necho \"$@\" >> \"$GH_LOG\"\nwhile [ $# -gt 0 ]; do [ \"$1\" = --body-file ] && cp \"$2\" \"$GH_LOG.body\"; shift; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&gh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let runner_temp = world.path("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut results = Vec::new();
    let mut failed = false;
    for step in job["steps"].as_sequence().unwrap() {
        let name = step["name"].as_str().unwrap_or("").to_string();
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        if name == "Install pkgsync" || (failed && step["if"].as_str() != Some("always()")) {
            continue;
        }
        let output = std::process::Command::new("bash")
            .args(["-e", "-c", script])
            .current_dir(dir)
            .env("PATH", &path)
            .env("HOME", world.dir.path())
            .env("XDG_CACHE_HOME", world.path("cache"))
            .env("NO_COLOR", "1")
            .env("PKGSYNC_RETRY_BASE_MS", "5")
            .env("RUNNER_TEMP", &runner_temp)
            .env("GITHUB_STEP_SUMMARY", world.path("step-summary.md"))
            .env("GH_LOG", world.path("gh.log"))
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let code = output.status.code().unwrap_or(-1);
        if code != 0 {
            failed = true;
            eprintln!(
                "step `{name}` exited {code}:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        results.push((name, code));
    }
    results
}

#[test]
fn the_ci_workflows_shell_steps_work_against_the_sandbox() {
    let world = World::demo();
    let repo = world.path("repo");
    std::fs::create_dir_all(repo.join("plans")).unwrap();
    std::fs::copy(&world.config, repo.join("sync.yaml")).unwrap();
    let commit_plan = || {
        world
            .pkgsync(&[
                "plan",
                "--config",
                repo.join("sync.yaml").to_str().unwrap(),
                "--out",
                repo.join("plans/sync.json").to_str().unwrap(),
            ])
            .expect(0);
    };
    commit_plan();
    let pr = [("PR", "7"), ("GH_TOKEN", "test")];

    // The pull request: check, plan again (the same), post the committed plan.
    let steps = run_workflow_steps(&world, "pkgsync-plan.yml", &repo, &pr);
    assert!(
        steps.len() >= 3 && steps.iter().all(|(_, code)| *code == 0),
        "{steps:?}"
    );
    let gh = std::fs::read_to_string(world.path("gh.log")).unwrap();
    assert!(gh.starts_with("pr comment 7 --body-file"), "{gh}");
    let body = std::fs::read_to_string(world.path("gh.log.body")).unwrap();
    assert!(body.contains("### pkgsync plan"), "{body}");

    // OBS moved on: the committed plan is stale, the job fails, the comment is still posted.
    let origin = pkgsync_sandbox::obs::BinaryPath {
        project: pkgsync_sandbox::demo::DEMO_OBS_PROJECT.into(),
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
    let steps = run_workflow_steps(&world, "pkgsync-plan.yml", &repo, &pr);
    let compare = steps
        .iter()
        .find(|(n, _)| n.starts_with("Plan again"))
        .unwrap();
    assert_eq!(compare.1, 1, "{steps:?}");
    assert_eq!(
        steps.last().unwrap(),
        &("Post the plan".to_string(), 0),
        "{steps:?}"
    );

    // After merge, with the plan redone and committed: apply, with a summary.
    commit_plan();
    let steps = run_workflow_steps(&world, "pkgsync-apply.yml", &repo, &[]);
    assert_eq!(steps, [("Apply the reviewed plan".to_string(), 0)]);
    let summary = std::fs::read_to_string(world.path("step-summary.md")).unwrap();
    assert!(
        summary.contains("exit 0") && summary.contains("\"type\":\"summary\""),
        "{summary}"
    );
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);

    // A config changed after review: refused, and the summary says what exit 4 means.
    let config = std::fs::read_to_string(repo.join("sync.yaml")).unwrap();
    std::fs::write(
        repo.join("sync.yaml"),
        config.replace("max_delete_percent: 50", "max_delete_percent: 40"),
    )
    .unwrap();
    let steps = run_workflow_steps(&world, "pkgsync-apply.yml", &repo, &[]);
    assert_eq!(steps, [("Apply the reviewed plan".to_string(), 4)]);
    let summary = std::fs::read_to_string(world.path("step-summary.md")).unwrap();
    assert!(
        summary.contains("exit 4") && summary.contains("refused"),
        "{summary}"
    );
}

/// The plan workflow's compare step with `--detailed-exitcode` mistyped: clap's
/// usage error exits 1, which the step reports as a failure, not 2 ("changes").
#[test]
fn a_mistyped_flag_in_the_plan_workflow_fails_the_step_rather_than_reading_as_changes() {
    let world = World::demo();
    let repo = world.path("repo");
    std::fs::create_dir_all(repo.join("plans")).unwrap();
    std::fs::copy(&world.config, repo.join("sync.yaml")).unwrap();
    world
        .pkgsync(&[
            "plan",
            "--config",
            repo.join("sync.yaml").to_str().unwrap(),
            "--out",
            repo.join("plans/sync.json").to_str().unwrap(),
        ])
        .expect(0);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(root.join("examples/github-actions/pkgsync-plan.yml")).unwrap();
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let (_, job) = yaml["jobs"].as_mapping().unwrap().iter().next().unwrap();
    let step = job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|step| {
            step["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Plan again"))
        })
        .unwrap();
    let script = step["run"].as_str().unwrap();
    assert!(script.contains("--detailed-exitcode"), "{script}");
    let mistyped = script.replace("--detailed-exitcode", "--detailed-exit-code");
    let bin = world.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_pkgsync"), bin.join("pkgsync")).unwrap();
    let runner_temp = world.path("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = support::Run::from(
        std::process::Command::new("bash")
            .args(["-e", "-c", &mistyped])
            .current_dir(&repo)
            .env("PATH", &path)
            .env("HOME", world.dir.path())
            .env("XDG_CACHE_HOME", world.path("cache"))
            .env("NO_COLOR", "1")
            .env("RUNNER_TEMP", &runner_temp)
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("::error::pkgsync plan failed with exit code 1"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stderr.contains("--detailed-exit-code"),
        "{}",
        run.stderr
    );
    // The same typo outside the workflow: exit 1, and `--help` still succeeds.
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exit-code"])
        .expect(1);
    world.pkgsync(&["plan", "--help"]).expect(0);
}

/// The two-step workflow in CI: OBS → staging applied, then the promotion
/// staging → production planned `--after` it, reviewed and applied.
#[test]
fn the_promotion_workflow_steps_work_against_the_sandbox() {
    let world = World::demo();
    let pc = world.sandbox().packagecloud();
    let production = pkgsync_sandbox::demo::DEMO_PC_PRODUCTION_REPO;
    pc.create_repo(production);
    let repo = world.path("repo");
    std::fs::create_dir_all(repo.join("plans")).unwrap();
    std::fs::copy(&world.config, repo.join("sync.yaml")).unwrap();
    let promote = pkgsync::demo::promotion_config(world.sandbox());
    std::fs::write(repo.join("promote.yaml"), promote).unwrap();
    let at = |name: &str| repo.join(name).to_str().unwrap().to_string();
    world
        .pkgsync(&[
            "plan",
            "--config",
            &at("sync.yaml"),
            "--out",
            &at("plans/sync.json"),
        ])
        .expect(0);
    world
        .pkgsync(&[
            "apply",
            &at("plans/sync.json"),
            "--config",
            &at("sync.yaml"),
        ])
        .expect(0);
    world
        .pkgsync(&[
            "plan",
            "--config",
            &at("promote.yaml"),
            "--after",
            &at("plans/sync.json"),
            "--out",
            &at("plans/promote.json"),
        ])
        .expect(0);

    // The pull request with the promotion: planned again, the same, posted.
    let pr = [("PR", "8"), ("GH_TOKEN", "test")];
    let steps = run_workflow_steps(&world, "pkgsync-promote.yml:plan", &repo, &pr);
    assert!(
        steps.len() == 3 && steps.iter().all(|(_, code)| *code == 0),
        "{steps:?}"
    );
    let body = std::fs::read_to_string(world.path("gh.log.body")).unwrap();
    assert!(body.contains("Follows plan `blake3:"), "{body}");

    // Staging lost a file its plan uploaded: the job fails with exit 4.
    let deb = "qemu-kata_8.0.2-1.1_amd64.deb";
    let kept = pc.package_bytes(DEMO_PC_REPO, "ubuntu/jammy", deb).unwrap();
    assert!(pc.remove_package(DEMO_PC_REPO, "ubuntu/jammy", deb));
    let steps = run_workflow_steps(&world, "pkgsync-promote.yml:plan", &repo, &pr);
    let again = steps
        .iter()
        .find(|(n, _)| n.starts_with("Plan again"))
        .unwrap();
    assert_eq!(again.1, 4, "{steps:?}");
    pc.insert_package(DEMO_PC_REPO, "ubuntu/jammy", kept)
        .unwrap();

    // After merge: applied to production.
    let steps = run_workflow_steps(&world, "pkgsync-promote.yml:apply", &repo, &[]);
    assert_eq!(steps, [("Apply the reviewed promotion".to_string(), 0)]);
    let summary = std::fs::read_to_string(world.path("step-summary.md")).unwrap();
    assert!(summary.contains("pkgsync promote: exit 0"), "{summary}");
    let promoted = pc
        .packages(DEMO_PC_REPO)
        .into_iter()
        .filter(|p| p.distro_version != "el/7")
        .count();
    assert_eq!(pc.packages(production).len(), promoted);
}

/// The demo's plan, with the sandbox's URLs (their ports change on every start)
/// and the digests over them replaced, is the one recorded in
/// `tests/fixtures/plans/demo.json`: the plan format stays byte for byte what
/// reviewers have been reading. `PKGSYNC_RECORD_PLAN=1` records it again, for a
/// deliberate change of the format.
#[test]
fn the_demo_plan_is_byte_identical_to_the_recorded_one() {
    let world = World::demo();
    let plan = std::fs::read_to_string(world.plan_out("plan.json")).unwrap();
    let sandbox = world.sandbox();
    let normalised = support::golden::normalise(
        &plan,
        &[
            (sandbox.obs_url(), "http://OBS"),
            (sandbox.packagecloud_url(), "http://PACKAGECLOUD"),
        ],
    );
    support::golden::assert_recorded(&normalised, "demo.json");
}

/// `obs.published: true` reads the same projects from their published
/// repositories: the plan makes the same changes as the build API's, and every
/// upload carries the sha256 of the file OBS built.
#[test]
fn the_published_repositories_of_a_project_plan_what_its_build_api_plans() {
    let world = World::demo();
    let from_api = pkgsync::plan::file::read(&world.plan_out("api.json")).unwrap();
    world.edit_config(
        "obs:\n",
        &format!(
            "obs:\n  published: true\n  download_url: {}\n",
            world.sandbox().published_url()
        ),
    );
    let published = pkgsync::plan::file::read(&world.plan_out("published.json")).unwrap();
    let changes = |plan: &pkgsync::plan::Plan| -> Vec<(String, String, String)> {
        plan.actions
            .iter()
            .map(|a| {
                (
                    a.action.as_str().to_string(),
                    a.distro_version.clone(),
                    a.filename.clone(),
                )
            })
            .collect()
    };
    assert_eq!(changes(&published), changes(&from_api));
    let obs = world.sandbox().obs();
    for action in published.actions.iter().filter(|a| a.source.is_some()) {
        let source = action.source.as_ref().unwrap();
        // A noarch file is built per arch: the sandbox's publisher takes x86_64's.
        let bytes = obs.with_state(|state| {
            let builds = &state.projects[pkgsync_sandbox::demo::DEMO_OBS_PROJECT].builds;
            let mut copies: Vec<_> = builds
                .iter()
                .filter_map(|(key, b)| Some((key.arch.clone(), b.binaries.get(&action.filename)?)))
                .collect();
            copies.sort_by(|a, b| b.0.cmp(&a.0));
            copies[0].1.bytes.clone()
        });
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        assert_eq!(
            source.sha256.as_deref(),
            Some(sha256.as_str()),
            "{}",
            action.filename
        );
    }
    world
        .pkgsync(&[
            "apply",
            world.path("published.json").to_str().unwrap(),
            "--config",
            world.config(),
        ])
        .expect(0);
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
}

#[test]
fn a_rejected_packagecloud_token_gets_its_hint_and_is_never_shown() {
    let world = World::demo();
    let wrong = "ffffffffffffffffffffffffffffffffffffffffffffffff";
    world.edit_config(pkgsync_sandbox::demo::DEMO_PC_TOKEN, wrong);
    let run =
        world.plan_refused(&["hint: check that the token is current for this Packagecloud URL"]);
    assert!(!run.stderr.contains(wrong), "{}", run.stderr);
}
