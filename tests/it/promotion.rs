//! Promotion, end to end: a staging Packagecloud repository as the source of a
//! production one, by copy (download, verify, upload) and by move
//! (Packagecloud's promote call), with the `--after` gate that ties a
//! promotion to the reviewed plan of staging; faults on the writes.

use crate::support::World;
use pkgsync_sandbox::demo::{DEMO_PC_REPO, DEMO_PC_TOKEN};
use pkgsync_sandbox::packages::{build_rpm, simple_deb, simple_rpm};
use pkgsync_sandbox::{Fault, FaultRule, Seed};

const STAGING: &str = "demo/staging";
const PRODUCTION: &str = "demo/production";

fn rpm(name: &str) -> Vec<u8> {
    simple_rpm(name, "1.0", "1", "x86_64").unwrap()
}

/// Staging holds three rpms in fedora/39, one deb in ubuntu/jammy and one rpm
/// in el/9 (which the promotion leaves out); production starts as `production`.
fn world(promote: &str, sync: &str, production: &[(&str, Vec<u8>)]) -> World {
    let mut seed = Seed::empty();
    seed.packagecloud.token = Some(DEMO_PC_TOKEN.into());
    seed.packagecloud.repo(STAGING).repo(PRODUCTION);
    for name in ["alpha", "beta", "gamma"] {
        seed.packagecloud.package(STAGING, "fedora/39", rpm(name));
    }
    seed.packagecloud.package(
        STAGING,
        "ubuntu/jammy",
        simple_deb("delta", "1.0-1", "amd64").unwrap(),
    );
    seed.packagecloud.package(STAGING, "el/9", rpm("epsilon"));
    for (distro, bytes) in production {
        seed.packagecloud.package(PRODUCTION, distro, bytes.clone());
    }
    let world = World::with_seed(seed);
    write_config(&world, promote, sync);
    world
}

fn write_config(world: &World, promote: &str, sync: &str) {
    let config = format!(
        "promote:\n  from: {STAGING}\n{promote}  distros:\n    fedora/39:\n    ubuntu/jammy:\n\
packagecloud:\n  url: {pc}\n  repo: {PRODUCTION}\n  auth:\n    token: {DEMO_PC_TOKEN}\n\
sync:\n{sync}",
        pc = world.sandbox().packagecloud_url()
    );
    std::fs::write(&world.config, config).unwrap();
}

/// `(distro/version/filename, sha256)` of a repository, sorted.
fn stored(world: &World, repo: &str) -> Vec<(String, String)> {
    let mut stored: Vec<_> = world
        .sandbox()
        .packagecloud()
        .packages(repo)
        .into_iter()
        .map(|p| (format!("{}/{}", p.distro_version, p.filename), p.sha256))
        .collect();
    stored.sort();
    stored
}

fn plan_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn apply(world: &World, plan: &std::path::Path) -> crate::support::Run {
    world.pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
}

fn no_changes(world: &World) {
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
}

/// The promoted part of staging: fedora/39 and ubuntu/jammy.
fn promoted(staging: &[(String, String)]) -> Vec<(String, String)> {
    staging
        .iter()
        .filter(|(path, _)| !path.starts_with("el/9/"))
        .cloned()
        .collect()
}

#[test]
fn copy_promotes_every_file_and_leaves_staging_as_it_was() {
    let world = world("  method: copy\n", "  mode: additive\n", &[]);
    let staging_before = stored(&world, STAGING);
    let plan = world.plan_out("promote.json");
    let json = plan_json(&plan);
    assert_eq!(json["format_version"], "1.3");
    assert_eq!(json["summary"]["upload"], 4);
    let first = &json["actions"][0]["source"];
    assert_eq!(first["repo"], STAGING);
    assert_eq!(first["method"], "copy");
    assert!(first["sha256"].is_string() && first.get("size").is_none());
    let shown = world.pkgsync(&["show", plan.to_str().unwrap()]).expect(0);
    assert!(
        shown
            .stdout
            .contains("from demo/staging/fedora/39 (by copy)"),
        "{}",
        shown.stdout
    );

    apply(&world, &plan).expect(0);
    assert_eq!(stored(&world, PRODUCTION), promoted(&staging_before));
    assert_eq!(stored(&world, STAGING), staging_before);
    assert_eq!(world.sandbox().packagecloud().promotions(), 0);
    no_changes(&world);
}

#[test]
fn move_uses_the_promote_call_and_empties_staging_of_what_it_moved() {
    let world = world("  method: move\n", "  mode: additive\n", &[]);
    let staging_before = stored(&world, STAGING);
    let plan = world.plan_out("promote.json");
    assert_eq!(plan_json(&plan)["actions"][0]["source"]["method"], "move");
    let pc = world.sandbox().packagecloud();
    pc.clear_requests();

    apply(&world, &plan).expect(0);
    assert_eq!(stored(&world, PRODUCTION), promoted(&staging_before));
    let left: Vec<_> = stored(&world, STAGING);
    assert_eq!(left.len(), 1, "only el/9 stays: {left:?}");
    assert!(left[0].0.starts_with("el/9/"));
    assert_eq!(pc.promotions(), 4);
    // Nothing was downloaded or uploaded: the promote call moved the files.
    let requests = pc.requests();
    assert!(!requests.iter().any(|r| r.path.contains("/download")));
    assert!(
        !requests
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/packages.json"))
    );
    assert!(pc.packages(PRODUCTION).iter().all(|p| p.downloads == 0));
    no_changes(&world);
}

#[test]
fn configs_a_promotion_cannot_keep_are_refused() {
    let world = world("  method: move\n", "  mode: mirror\n", &[]);
    let plan = || {
        world
            .pkgsync(&["plan", "--config", world.config()])
            .expect(1)
    };
    let run = plan();
    assert!(
        run.stderr
            .contains("`promote.method: move` cannot be combined with `sync.mode: mirror`"),
        "{}",
        run.stderr
    );
    // A move cannot change the distro/version.
    world.edit_config("mode: mirror", "mode: additive");
    world.edit_config("    fedora/39:\n", "    fedora/39: fedora/40\n");
    let run = plan();
    assert!(
        run.stderr.contains("`method: move` keeps a package's"),
        "{}",
        run.stderr
    );
    // Mirror deletes need the distro/versions named.
    write_config(&world, "", "  mode: mirror\n");
    world.edit_config("  distros:\n    fedora/39:\n    ubuntu/jammy:\n", "");
    let run = plan();
    assert!(run.stderr.contains("`promote.distros`"), "{}", run.stderr);
    // `--after` takes a plan of the promotion's source only.
    write_config(&world, "", "  mode: additive\n");
    let own = world.plan_out("promote.json");
    let run = world
        .pkgsync(&[
            "plan",
            "--config",
            world.config(),
            "--after",
            own.to_str().unwrap(),
        ])
        .expect(1);
    assert!(
        run.stderr.contains("was made for `demo/production`"),
        "{}",
        run.stderr
    );
}

#[test]
fn mirror_deletes_in_production_only_in_promoted_distros_and_within_the_guards() {
    let production = [
        ("fedora/39", rpm("old-one")),
        ("fedora/39", rpm("old-two")),
        ("el/9", rpm("elsewhere")),
    ];
    let world = world("", "  mode: mirror\n  max_deletes: 1\n", &production);
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(3);
    assert!(
        run.stderr.contains("old-one-1.0-1.x86_64.rpm"),
        "{}",
        run.stderr
    );

    let plan = world.path("promote.json");
    world
        .pkgsync(&[
            "plan",
            "--config",
            world.config(),
            "--allow-deletes",
            "2",
            "--out",
            plan.to_str().unwrap(),
        ])
        .expect(0);
    let json = plan_json(&plan);
    assert_eq!(json["summary"]["delete"], 2);
    assert_eq!(json["summary"]["upload"], 4);
    apply(&world, &plan).expect(0);
    let production: Vec<String> = stored(&world, PRODUCTION)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert!(!production.iter().any(|p| p.contains("old-")));
    assert!(production.contains(&"el/9/elsewhere-1.0-1.x86_64.rpm".to_string()));
    no_changes(&world);
}

#[test]
fn a_staging_file_changed_after_planning_makes_the_plan_stale_with_no_write() {
    let world = world("", "  mode: additive\n", &[]);
    let plan = world.plan_out("promote.json");
    let pc = world.sandbox().packagecloud();
    assert!(pc.remove_package(STAGING, "fedora/39", "beta-1.0-1.x86_64.rpm"));
    let other = build_rpm(
        "beta",
        "1.0",
        "1",
        "x86_64",
        &[("/usr/share/beta/OTHER", b"other")],
    );
    pc.insert_package(STAGING, "fedora/39", other.unwrap())
        .unwrap();
    pc.clear_requests();

    let run = apply(&world, &plan).expect(4);
    assert!(
        run.stderr
            .contains("demo/staging/fedora/39/beta-1.0-1.x86_64.rpm` changed there"),
        "{}",
        run.stderr
    );
    assert!(stored(&world, PRODUCTION).is_empty());
    assert!(pc.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn a_destination_holding_other_content_is_a_conflict() {
    let other = build_rpm(
        "alpha",
        "1.0",
        "1",
        "x86_64",
        &[("/usr/share/alpha/OTHER", b"x")],
    );
    let world = world("", "  mode: additive\n", &[("fedora/39", other.unwrap())]);
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(6);
    assert!(
        run.stderr.contains("alpha-1.0-1.x86_64.rpm"),
        "{}",
        run.stderr
    );

    // With `sync.replace` it is a replace, by the promote call too.
    write_config(
        &world,
        "  method: move\n",
        "  mode: additive\n  replace: true\n",
    );
    let plan = world.plan_out("promote.json");
    assert_eq!(plan_json(&plan)["summary"]["replace"], 1);
    apply(&world, &plan).expect(0);
    let promoted_alpha = stored(&world, PRODUCTION)
        .into_iter()
        .find(|(p, _)| p.ends_with("alpha-1.0-1.x86_64.rpm"))
        .unwrap();
    assert_eq!(promoted_alpha.1, sha256_hex(&rpm("alpha")));
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn lost_answers_of_promote_and_upload_never_duplicate_or_lose_a_package() {
    for method in ["move", "copy"] {
        let world = world(&format!("  method: {method}\n"), "  mode: additive\n", &[]);
        let staging_before = stored(&world, STAGING);
        let plan = world.plan_out("promote.json");
        let pc = world.sandbox().packagecloud();
        // The first write of each kind is made and its answer lost; another
        // connection is reset before it is handled.
        pc.set_faults(vec![
            FaultRule::new("promote", Fault::StoreThenStatus(500)).method("POST"),
            FaultRule::new("promote", Fault::Reset)
                .method("POST")
                .skip(1),
            FaultRule::new("/packages.json", Fault::StoreThenStatus(502)).method("POST"),
            FaultRule::new("/packages.json", Fault::Reset)
                .method("POST")
                .skip(1),
        ]);
        pc.clear_requests();
        apply(&world, &plan).expect(0);
        pc.clear_faults();
        // Four files, one connection reset before it was handled: five writes.
        // The write whose answer was lost is looked up, not sent again.
        let writes = pc
            .requests()
            .iter()
            .filter(|r| {
                r.method == "POST"
                    && (r.path.ends_with("/promote.json") || r.path.ends_with("/packages.json"))
            })
            .count();
        assert_eq!(writes, 5, "{method}");
        let production = stored(&world, PRODUCTION);
        assert_eq!(production, promoted(&staging_before), "{method}");
        if method == "move" {
            assert_eq!(stored(&world, STAGING).len(), 1, "{method}");
        } else {
            assert_eq!(stored(&world, STAGING), staging_before);
        }
        no_changes(&world);
        // A rerun of the same plan finds everything done.
        apply(&world, &plan).expect(0);
        assert_eq!(stored(&world, PRODUCTION), production);
    }
}

#[test]
fn a_private_staging_repository_is_downloaded_with_the_token_which_is_never_shown() {
    let world = world("", "  mode: additive\n", &[]);
    let pc = world.sandbox().packagecloud();
    pc.set_private(STAGING, true);
    let plan = world.plan_out("promote.json");
    let run = apply(&world, &plan).expect(0);
    assert_eq!(stored(&world, PRODUCTION).len(), 4);
    assert!(!run.stdout.contains(DEMO_PC_TOKEN) && !run.stderr.contains(DEMO_PC_TOKEN));
    assert!(
        !std::fs::read_to_string(&plan)
            .unwrap()
            .contains(DEMO_PC_TOKEN)
    );

    // Staging's own token, from the environment, is the one sent there.
    let envs = [("PACKAGECLOUD_PROMOTE_TOKEN", "not-the-token")];
    let run = world
        .pkgsync_with(&["plan", "--config", world.config()], &envs)
        .expect(1);
    assert!(
        run.stderr
            .contains("the `PACKAGECLOUD_PROMOTE_TOKEN` environment variable"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("not-the-token"), "{}", run.stderr);
}

/// Staging's files as a CDN would serve them: each at the path of the
/// emulator's download URL, below `dir`.
fn cdn_copy(dir: &std::path::Path) {
    let files: [(&str, &str, Vec<u8>); 4] = [
        ("fedora/39", "alpha-1.0-1.x86_64.rpm", rpm("alpha")),
        ("fedora/39", "beta-1.0-1.x86_64.rpm", rpm("beta")),
        ("fedora/39", "gamma-1.0-1.x86_64.rpm", rpm("gamma")),
        (
            "ubuntu/jammy",
            "delta_1.0-1_amd64.deb",
            simple_deb("delta", "1.0-1", "amd64").unwrap(),
        ),
    ];
    for (distro, filename, bytes) in files {
        let extension = filename.rsplit('.').next().unwrap();
        let at = dir.join(format!("{STAGING}/packages/{distro}/{filename}"));
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(at.join(format!("download.{extension}")), bytes).unwrap();
    }
}

/// Packagecloud serves downloads from another host (its CDN): staging's
/// token goes with a download to the API's own host only, never to another,
/// whether the download URL names that host or the API host redirects there.
#[test]
fn a_private_staging_repositorys_token_never_goes_to_another_host() {
    for redirected in [false, true] {
        let world = world("  method: copy\n", "  mode: additive\n", &[]);
        let pc = world.sandbox().packagecloud();
        pc.set_private(STAGING, true);
        let cdn_dir = tempfile::tempdir().unwrap();
        cdn_copy(cdn_dir.path());
        let cdn = world
            .runtime
            .block_on(pkgsync_sandbox::files::FileServer::start(cdn_dir.path()))
            .unwrap();
        if redirected {
            let to_cdn = Fault::Redirect {
                base: cdn.url().to_string(),
            };
            pc.set_faults(vec![
                FaultRule::new("/download.", to_cdn)
                    .method("GET")
                    .times(usize::MAX),
            ]);
        } else {
            pc.set_download_base(Some(cdn.url()));
        }
        let plan = world.plan_out("promote.json");
        apply(&world, &plan).expect(0);
        assert_eq!(
            stored(&world, PRODUCTION),
            promoted(&stored(&world, STAGING))
        );

        let downloads = cdn.requests();
        assert_eq!(downloads.len(), 4, "{downloads:?}");
        assert!(downloads.iter().all(|r| !r.authorized), "{downloads:?}");
        let at_api: Vec<_> = pc
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/download."))
            .collect();
        match redirected {
            // Asked at the API's host, with the token; sent on without it.
            true => assert!(at_api.len() == 4 && at_api.iter().all(|r| r.authorized)),
            false => assert!(at_api.is_empty(), "{at_api:?}"),
        }
        world.runtime.block_on(cdn.shutdown());
    }
}

/// The two-step workflow: OBS → staging (the demo's own config), reviewed and
/// applied; then staging → production `--after` that plan.
#[test]
fn after_refuses_until_staging_holds_what_its_plan_led_to() {
    let world = World::demo();
    let pc = world.sandbox().packagecloud();
    pc.create_repo(PRODUCTION);
    let staging_plan = world.plan_out("staging.json");
    let promotion = world.path("promote.yaml");
    std::fs::write(
        &promotion,
        format!(
            "promote:\n  from: {DEMO_PC_REPO}\n  distros:\n    fedora/39:\n    ubuntu/jammy:\n\
packagecloud:\n  url: {pc}\n  repo: {PRODUCTION}\n  auth:\n    token: {DEMO_PC_TOKEN}\n\
sync:\n  mode: mirror\n  max_delete_percent: 100\n",
            pc = world.sandbox().packagecloud_url()
        ),
    )
    .unwrap();
    let promotion_plan = world.path("promote.json");
    let plan_after = || {
        world.pkgsync(&[
            "plan",
            "--config",
            promotion.to_str().unwrap(),
            "--after",
            staging_plan.to_str().unwrap(),
            "--out",
            promotion_plan.to_str().unwrap(),
        ])
    };

    // Not applied to staging yet.
    let run = plan_after().expect(4);
    assert!(
        run.stderr.contains("does not hold what plan"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("qemu-kata-8.0.2-1.1.x86_64.rpm"),
        "{}",
        run.stderr
    );

    // Applied, but one of its uploads is gone again (a partial state).
    apply(&world, &staging_plan).expect(0);
    assert!(pc.remove_package(DEMO_PC_REPO, "fedora/39", "qemu-kata-8.0.2-1.1.x86_64.rpm"));
    let run = plan_after().expect(4);
    assert!(
        run.stderr
            .contains("fedora/39/qemu-kata-8.0.2-1.1.x86_64.rpm"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("kata-runtime"),
        "only the missing file: {}",
        run.stderr
    );

    // Finished (the rerun uploads what is missing): the promotion is planned.
    apply(&world, &staging_plan).expect(0);
    plan_after().expect(0);
    let json = plan_json(&promotion_plan);
    let staging_id = plan_json(&staging_plan)["plan_id"].clone();
    assert_eq!(json["after"]["plan_id"], staging_id);
    assert!(!json["after"]["absent"].as_array().unwrap().is_empty());

    // Staging changes between the promotion's plan and its apply: refused, no write.
    let kept = pc.package_bytes(
        DEMO_PC_REPO,
        "ubuntu/jammy",
        "qemu-kata_8.0.2-1.1_amd64.deb",
    );
    assert!(pc.remove_package(
        DEMO_PC_REPO,
        "ubuntu/jammy",
        "qemu-kata_8.0.2-1.1_amd64.deb"
    ));
    pc.clear_requests();
    let run = world
        .pkgsync(&[
            "apply",
            promotion_plan.to_str().unwrap(),
            "--config",
            promotion.to_str().unwrap(),
        ])
        .expect(4);
    assert!(
        run.stderr.contains("qemu-kata_8.0.2-1.1_amd64.deb"),
        "{}",
        run.stderr
    );
    assert!(pc.requests().iter().all(|r| r.method == "GET"));
    assert!(pc.packages(PRODUCTION).is_empty());

    // Put back as it was: the promotion goes through.
    pc.insert_package(DEMO_PC_REPO, "ubuntu/jammy", kept.unwrap())
        .unwrap();
    world
        .pkgsync(&[
            "apply",
            promotion_plan.to_str().unwrap(),
            "--config",
            promotion.to_str().unwrap(),
        ])
        .expect(0);
    // el/7 is not promoted.
    let staging: Vec<_> = world
        .stored()
        .into_iter()
        .filter(|(path, _)| !path.starts_with("el/7/"))
        .collect();
    assert_eq!(stored(&world, PRODUCTION), staging);
}

#[test]
fn check_reads_the_promotion_source_with_its_token() {
    let world = world("", "  mode: additive\n", &[]);
    let run = world
        .pkgsync(&["check", "--config", world.config()])
        .expect(0);
    assert!(
        run.stdout
            .contains("ok    the promotion source `demo/staging` (public) is readable"),
        "{}",
        run.stdout
    );
    let text = std::fs::read_to_string(&world.config).unwrap();
    std::fs::write(
        &world.config,
        text.replace("from: demo/staging", "from: demo/nothing"),
    )
    .unwrap();
    let run = world
        .pkgsync(&["check", "--config", world.config()])
        .expect(1);
    assert!(
        run.stdout
            .contains("FAIL  the promotion source `demo/nothing`"),
        "{}",
        run.stdout
    );
}

#[test]
fn mirror_mode_deletes_every_arch_staging_no_longer_holds() {
    let production = [
        (
            "fedora/39",
            simple_rpm("gone", "1.0", "1", "aarch64").unwrap(),
        ),
        (
            "fedora/39",
            simple_rpm("gone", "1.0", "1", "noarch").unwrap(),
        ),
    ];
    let world = world(
        "",
        "  mode: mirror\n  max_delete_percent: 100\n",
        &production,
    );
    let plan = world.plan_out("promote.json");
    let json = plan_json(&plan);
    let deleted: Vec<&str> = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "delete")
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        deleted,
        ["gone-1.0-1.aarch64.rpm", "gone-1.0-1.noarch.rpm"],
        "staging holds only x86_64 files, yet its listing is the whole truth"
    );
}

#[test]
fn two_staging_distros_sent_to_one_production_distro_are_refused() {
    let world = world("", "  mode: additive\n", &[]);
    world
        .sandbox()
        .packagecloud()
        .insert_package(STAGING, "fedora/40", rpm("alpha"))
        .unwrap();
    world.edit_config(
        "    ubuntu/jammy:\n",
        "    ubuntu/jammy:\n    fedora/40: fedora/39\n",
    );
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(1);
    assert!(
        run.stderr
            .contains("both go to `fedora/39/alpha-1.0-1.x86_64.rpm`"),
        "{}",
        run.stderr
    );
}

/// OBS → staging, then a promotion by move `--after` it: the gate accepts what
/// was moved already, on a rerun of apply and of plan alike; a staging file
/// swapped for other content under the same name (OBS plans list no sha256)
/// is caught by its size; `require_after` refuses a plan without `--after`,
/// and `diff` tells plans that follow different plans apart.
#[test]
fn after_a_move_and_with_obs_fed_staging() {
    let world = World::demo();
    let pc = world.sandbox().packagecloud();
    pc.create_repo(PRODUCTION);
    let staging_plan = world.plan_out("staging.json");
    apply(&world, &staging_plan).expect(0);
    let promotion = world.path("promote.yaml");
    let write = |extra: &str| {
        std::fs::write(
            &promotion,
            format!(
                "promote:\n  from: {DEMO_PC_REPO}\n  method: move\n{extra}  distros:\n    fedora/39:\n    ubuntu/jammy:\n\
packagecloud:\n  url: {pc}\n  repo: {PRODUCTION}\n  auth:\n    token: {DEMO_PC_TOKEN}\n",
                pc = world.sandbox().packagecloud_url()
            ),
        )
        .unwrap()
    };
    write("  require_after: true\n");
    let config = promotion.to_str().unwrap();
    let out = world.path("promote.json");
    let plan_after = |after: &std::path::Path| {
        world.pkgsync(&[
            "plan",
            "--config",
            config,
            "--after",
            after.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };

    // Same name, other content: an OBS plan has no sha256, but its size.
    let name = "qemu-kata-8.0.2-1.1.x86_64.rpm";
    let kept = pc.package_bytes(DEMO_PC_REPO, "fedora/39", name).unwrap();
    assert!(pc.remove_package(DEMO_PC_REPO, "fedora/39", name));
    let other = build_rpm(
        "qemu-kata",
        "8.0.2",
        "1.1",
        "x86_64",
        &[("/usr/bin/x", b"other")],
    );
    pc.insert_package(DEMO_PC_REPO, "fedora/39", other.unwrap())
        .unwrap();
    let run = plan_after(&staging_plan).expect(4);
    assert!(run.stderr.contains(name), "{}", run.stderr);
    assert!(pc.remove_package(DEMO_PC_REPO, "fedora/39", name));
    pc.insert_package(DEMO_PC_REPO, "fedora/39", kept).unwrap();

    // `require_after`: no plan without `--after`.
    let run = world.pkgsync(&["plan", "--config", config]).expect(1);
    assert!(
        run.stderr.contains("`promote.require_after`"),
        "{}",
        run.stderr
    );

    plan_after(&staging_plan).expect(0);
    let first = std::fs::read_to_string(&out).unwrap();
    let moved_plan = world.path("moved.json");
    std::fs::write(&moved_plan, &first).unwrap();
    world
        .pkgsync(&["apply", moved_plan.to_str().unwrap(), "--config", config])
        .expect(0);
    assert_eq!(pc.packages(PRODUCTION).len(), 18);
    // Rerun of the same apply, and a new plan after the same staging plan:
    // what was moved counts as there.
    world
        .pkgsync(&["apply", moved_plan.to_str().unwrap(), "--config", config])
        .expect(0);
    plan_after(&staging_plan).expect(0);

    // A plan that follows another plan (here: none) differs for `diff`.
    write("");
    world
        .pkgsync(&["plan", "--config", config, "--out", out.to_str().unwrap()])
        .expect(0);
    let run = world
        .pkgsync(&["diff", moved_plan.to_str().unwrap(), out.to_str().unwrap()])
        .expect(1);
    assert!(run.stdout.contains("follow other plans"), "{}", run.stdout);
}

#[test]
fn package_and_arch_filters_select_what_is_promoted_and_narrow_its_deletes() {
    let additive = world("  method: copy\n", "  mode: additive\n", &[]);
    let text = std::fs::read_to_string(additive.config()).unwrap();
    let filtered = format!("{text}filters:\n  packages:\n    include: [alpha, delta]\n");
    std::fs::write(additive.config(), filtered).unwrap();
    let plan = additive.plan_out("promote.json");
    let json = plan_json(&plan);
    let mut files: Vec<&str> = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["alpha-1.0-1.x86_64.rpm", "delta_1.0-1_amd64.deb"]);

    // In mirror mode an arch filter leaves production's files of other
    // arches alone: the listing is the whole truth only for the arches taken.
    let aarch64 = simple_rpm("zeta", "1.0", "1", "aarch64").unwrap();
    let mirror = world(
        "  method: copy\n",
        "  mode: mirror\n  max_delete_percent: 100\n",
        &[("fedora/39", aarch64)],
    );
    let text = std::fs::read_to_string(mirror.config()).unwrap();
    let filtered = format!("{text}filters:\n  architectures:\n    include: [x86_64, amd64]\n");
    std::fs::write(mirror.config(), filtered).unwrap();
    let json = plan_json(&mirror.plan_out("mirror.json"));
    assert_eq!(json["summary"]["upload"], 4);
    assert_eq!(json["summary"]["delete"], 0, "{json:#}");
}
