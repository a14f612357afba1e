//! Deletes only on complete knowledge, only of what the config could have
//! produced, and judged again at apply time: through the real binary.

use crate::support::World;
use pkgsync_sandbox::demo::{DEMO_OBS_PROJECT, DEMO_PC_REPO};
use pkgsync_sandbox::obs::BinaryPath;

fn converge(world: &World) {
    let plan = world.plan_out("converge.json");
    world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);
}

#[test]
fn a_failed_build_withholds_deletes_instead_of_deleting_its_packages() {
    let world = World::demo();
    converge(&world);
    // The build fails: OBS lists no binaries for it any more.
    world.sandbox().obs().set_package_code(
        DEMO_OBS_PROJECT,
        "Fedora_39",
        "x86_64",
        "kata-runtime",
        "failed",
    );
    let run = world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
    assert!(run.stdout.starts_with("No changes."), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("1 delete(s) withheld in fedora/39: the source's builds are incomplete"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("`kata-runtime` is `failed`"),
        "{}",
        run.stdout
    );
    let plan = world.plan_out("plan.json");
    let written = pkgsync::plan::file::read(&plan).unwrap();
    assert_eq!(written.withheld.len(), 1);
    assert_eq!(written.summary.delete, 0);
}

#[test]
fn files_of_arches_the_config_does_not_build_are_never_orphans() {
    let world = World::demo();
    converge(&world);
    world.edit_config(
        "sync:\n",
        "filters:\n  architectures:\n    exclude: [aarch64]\nsync:\n",
    );
    let run = world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
    assert!(
        run.stdout.starts_with("No changes."),
        "aarch64/arm64 files stay: {}",
        run.stdout
    );
}

#[test]
fn mirror_mode_with_package_filters_is_refused() {
    let world = World::demo();
    world.edit_config(
        "sync:\n",
        "filters:\n  packages:\n    include: [kata-runtime]\nsync:\n",
    );
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(1);
    assert!(
        run.stderr
            .contains("`sync.mode: mirror` cannot be combined with `filters.packages`"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_delete_whose_file_is_built_again_before_apply_is_stale() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    // OBS builds the orphan again before the plan is applied.
    let bytes = world
        .sandbox()
        .packagecloud()
        .package_bytes(
            DEMO_PC_REPO,
            "fedora/39",
            "kata-proxy-1.11.0-1.1.x86_64.rpm",
        )
        .unwrap();
    let origin = BinaryPath {
        project: DEMO_OBS_PROJECT.into(),
        repository: "Fedora_39".into(),
        arch: "x86_64".into(),
        package: "kata-proxy".into(),
        filename: "kata-proxy-1.11.0-1.1.x86_64.rpm".into(),
    };
    world
        .sandbox()
        .obs()
        .set_binary(&origin, bytes, 1_800_000_000);
    world.sandbox().obs().set_package_code(
        DEMO_OBS_PROJECT,
        "Fedora_39",
        "x86_64",
        "kata-proxy",
        "succeeded",
    );
    let before = world.stored();
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(4);
    assert!(
        run.stderr.contains(
            "delete `fedora/39/kata-proxy-1.11.0-1.1.x86_64.rpm`: `home:katacontainers:releases:stable-3.2/Fedora_39/x86_64/kata-proxy/kata-proxy-1.11.0-1.1.x86_64.rpm` offers this file again"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(world.stored(), before);
}

#[test]
fn a_plan_rewritten_to_delete_outside_the_rules_is_refused() {
    let world = World::demo();
    let plan_path = world.plan_out("plan.json");
    // Someone adds a delete outside the scope and recomputes the plan_id.
    let mut plan = pkgsync::plan::file::read(&plan_path).unwrap();
    let stored = world.stored();
    let (outside, sha) = stored.iter().find(|(k, _)| k.starts_with("el/7/")).unwrap();
    let filename = outside.trim_start_matches("el/7/").to_string();
    plan.actions.push(pkgsync::plan::Action {
        action: pkgsync::plan::ActionKind::Delete,
        distro_version: "el/7".into(),
        filename,
        package_type: "rpm".into(),
        source: None,
        target: pkgsync::plan::TargetExpectation {
            present: true,
            sha256: Some(sha.clone()),
        },
        unsafe_name: false,
    });
    plan.plan_id = pkgsync::plan::file::plan_id(&plan);
    pkgsync::plan::file::write(&plan, &plan_path).unwrap();
    let run = world
        .pkgsync(&[
            "apply",
            plan_path.to_str().unwrap(),
            "--config",
            world.config(),
        ])
        .expect(4);
    assert!(
        run.stderr
            .contains("the config's rules do not allow this delete"),
        "{}",
        run.stderr
    );
    assert_eq!(world.stored(), stored, "nothing changed");
}

#[test]
fn verify_unchanged_finds_other_content_under_a_built_name_and_replace_fixes_it() {
    let world = World::demo();
    converge(&world);
    // Someone swapped the stored file for another build with the same name.
    let name = "qemu-kata-8.0.2-1.1.x86_64.rpm";
    let pc = world.sandbox().packagecloud();
    assert!(pc.remove_package(DEMO_PC_REPO, "fedora/39", name));
    let other =
        pkgsync_sandbox::packages::simple_rpm("qemu-kata", "8.0.2", "1.1", "x86_64").unwrap();
    pc.insert_package(DEMO_PC_REPO, "fedora/39", other).unwrap();

    // Names alone cannot tell.
    let run = world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
    assert!(run.stdout.starts_with("No changes."), "{}", run.stdout);

    world.edit_config("sync:\n", "sync:\n  verify_unchanged: true\n");
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(6);
    assert!(
        run.stderr
            .contains(&format!("`fedora/39/{name}` (md5 at the source")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("\nhint: Packagecloud holds other bytes under these names")
            && run.stderr.contains("set `sync.replace: true`"),
        "{}",
        run.stderr
    );

    world.edit_config("sync:\n", "sync:\n  replace: true\n");
    let plan = world.plan_out("replace.json");
    let written = pkgsync::plan::file::read(&plan).unwrap();
    assert_eq!(
        (
            written.summary.replace,
            written.summary.upload,
            written.summary.delete
        ),
        (1, 0, 0)
    );
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);
    assert!(run.stdout.contains("1 replaced"), "{}", run.stdout);
    let run = world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
    assert!(run.stdout.starts_with("No changes."), "{}", run.stdout);
}

#[test]
fn a_plan_rewritten_to_upload_outside_the_mapping_is_refused() {
    let world = World::demo();
    let plan_path = world.plan_out("plan.json");
    let mut plan = pkgsync::plan::file::read(&plan_path).unwrap();
    // An upload of an OBS file into a distro/version its repository is not mapped to.
    let upload = plan
        .actions
        .iter_mut()
        .find(|a| a.action == pkgsync::plan::ActionKind::Upload && a.distro_version == "fedora/39")
        .unwrap();
    upload.distro_version = "el/7".into();
    plan.plan_id = pkgsync::plan::file::plan_id(&plan);
    pkgsync::plan::file::write(&plan, &plan_path).unwrap();
    let before = world.stored();
    let run = world
        .pkgsync(&[
            "apply",
            plan_path.to_str().unwrap(),
            "--config",
            world.config(),
        ])
        .expect(4);
    assert!(
        run.stderr
            .contains("the config does not map `Fedora_39` to `el/7`"),
        "{}",
        run.stderr
    );
    assert_eq!(world.stored(), before, "nothing changed");
    assert_eq!(world.sandbox().packagecloud().upload_attempts(), 0);
}

/// Two repositories written to one distro two ways (`ubuntu/22.04` and
/// `ubuntu/jammy`, Packagecloud's index name) are one `distro/version`: the
/// failed build in one withholds the deletes there even though the other is
/// complete.
#[test]
fn one_distro_written_two_ways_keeps_the_knowledge_of_both_repositories() {
    use pkgsync_sandbox::Seed;
    use pkgsync_sandbox::packages::simple_deb;
    let mut seed = Seed::demo();
    let orphan = simple_deb("old-tool", "0.9-1", "amd64").unwrap();
    seed.packagecloud
        .package(DEMO_PC_REPO, "ubuntu/jammy", orphan);
    let extra = simple_deb("extra", "1.0-1", "amd64").unwrap();
    let project = seed.obs.project(DEMO_OBS_PROJECT);
    project.repository("Ubuntu_Extra", &["x86_64"]).set_binary(
        "Ubuntu_Extra",
        "x86_64",
        "extra",
        "extra_1.0-1_amd64.deb",
        extra,
        1_800_000_000,
    );
    // Settled everywhere else: the extra repository is a complete picture.
    let others: Vec<String> = project.packages.keys().cloned().collect();
    for package in others.iter().filter(|p| p.as_str() != "extra") {
        project.set_code("Ubuntu_Extra", "x86_64", package, "excluded");
    }
    for repository in ["Fedora_39", "xUbuntu_22.04"] {
        for arch in ["x86_64", "aarch64"] {
            project.set_code(repository, arch, "extra", "excluded");
        }
    }
    let world = World::with_seed(seed);
    // The demo's deb repository (with a failed build) written by version
    // number, the complete extra one by index name.
    world.edit_config(
        "xUbuntu_22.04: ubuntu/jammy",
        "xUbuntu_22.04: ubuntu/22.04\n  Ubuntu_Extra: ubuntu/jammy",
    );
    let plan = pkgsync::plan::file::read(&world.plan_out("plan.json")).unwrap();
    assert!(
        !plan
            .actions
            .iter()
            .any(|a| a.action == pkgsync::plan::ActionKind::Delete
                && a.distro_version == "ubuntu/jammy"),
        "{:#?}",
        plan.actions
    );
    let withheld: Vec<&str> = plan
        .withheld
        .iter()
        .map(|w| w.distro_version.as_str())
        .collect();
    assert_eq!(withheld, ["ubuntu/jammy"]);
    assert!(
        plan.actions
            .iter()
            .any(|a| a.filename == "extra_1.0-1_amd64.deb" && a.distro_version == "ubuntu/jammy")
    );
}

/// Stores two orphans in `fedora/39`: an older `kata-runtime` and a
/// `kata-agent` no OBS package builds any more; returns their filenames.
fn store_two_orphans(world: &World) -> (String, String) {
    let pc = world.sandbox().packagecloud();
    let rpm = |name| pkgsync_sandbox::packages::simple_rpm(name, "3.1.0", "1.1", "x86_64");
    let runtime = pc
        .insert_package(DEMO_PC_REPO, "fedora/39", rpm("kata-runtime").unwrap())
        .unwrap();
    let agent = pc
        .insert_package(DEMO_PC_REPO, "fedora/39", rpm("kata-agent").unwrap())
        .unwrap();
    (runtime, agent)
}

#[test]
fn an_unsettled_build_withholds_only_the_files_it_could_have_produced() {
    let world = World::demo();
    converge(&world);
    let (runtime, agent) = store_two_orphans(&world);
    // A rebuild is under way: OBS still lists the last build's binaries, so
    // the names `kata-runtime` produces are known.
    world.sandbox().obs().set_package_code(
        DEMO_OBS_PROJECT,
        "Fedora_39",
        "x86_64",
        "kata-runtime",
        "building",
    );
    let plan = world.plan_out("plan.json");
    let written = pkgsync::plan::file::read(&plan).unwrap();
    let deletes: Vec<(&str, &str)> = written
        .actions
        .iter()
        .map(|a| (a.distro_version.as_str(), a.filename.as_str()))
        .collect();
    assert_eq!(deletes, [("fedora/39", agent.as_str())]);
    assert_eq!(written.withheld.len(), 1);
    let withheld = &written.withheld[0];
    assert_eq!(
        (withheld.distro_version.as_str(), withheld.orphans),
        ("fedora/39", 1)
    );
    assert_eq!(
        withheld.reasons,
        [format!(
            "`kata-runtime` is `building` in `{DEMO_OBS_PROJECT}/Fedora_39/x86_64`: withholds `{runtime}`"
        )]
    );
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);
    assert!(run.stdout.contains("1 deleted"), "{}", run.stdout);
    let stored: Vec<String> = world.stored().into_iter().map(|(k, _)| k).collect();
    assert!(
        stored.contains(&format!("fedora/39/{runtime}")),
        "{stored:?}"
    );
    assert!(
        !stored.contains(&format!("fedora/39/{agent}")),
        "{stored:?}"
    );
}

#[test]
fn a_failed_build_whose_binaries_are_unknown_still_withholds_every_delete() {
    let world = World::demo();
    converge(&world);
    let (_, agent) = store_two_orphans(&world);
    // A failed build's area lists nothing: what it produces is unknown.
    world.sandbox().obs().set_package_code(
        DEMO_OBS_PROJECT,
        "Fedora_39",
        "x86_64",
        "kata-runtime",
        "failed",
    );
    let plan = world.plan_out("plan.json");
    let written = pkgsync::plan::file::read(&plan).unwrap();
    assert_eq!(written.summary.delete, 0, "{:?}", written.actions);
    let withheld = &written.withheld[0];
    // The stored kata-runtime (no longer listed), its older copy and kata-agent.
    assert_eq!(
        (withheld.distro_version.as_str(), withheld.orphans),
        ("fedora/39", 3)
    );
    assert_eq!(
        withheld.reasons,
        [format!(
            "`kata-runtime` is `failed` in `{DEMO_OBS_PROJECT}/Fedora_39/x86_64`"
        )]
    );
    assert!(world.stored().iter().any(|(k, _)| k.ends_with(&agent)));
}
