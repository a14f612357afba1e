//! How listed packages join a plan, the same for every source that reads
//! listings: the same file in two repositories sent to one `distro/version`
//! (a noarch rpm in both arch trees of a compose) is one upload naming both,
//! other bytes under one name fail the plan naming both, and the package and
//! arch filters select from published repositories as they do from OBS.
//! Composes made by the real createrepo_c, read from disk.

use crate::support::{World, install_tools, world_of};
use pkgsync::plan::Plan;
use pkgsync_sandbox::packages::simple_rpm;
use std::path::Path;
use std::process::Command;

/// `root/<arch>/os` for each arch, holding `alpha` of that arch and the
/// noarch `common` (the same bytes in every tree unless `differ`), with
/// createrepo_c's metadata.
fn compose(root: &Path, archs: &[&str], differ: bool) {
    install_tools(&["createrepo-c"]);
    let common = simple_rpm("common", "1.0", "1", "noarch").unwrap();
    for (i, arch) in archs.iter().enumerate() {
        let os = root.join(arch).join("os");
        std::fs::create_dir_all(os.join("Packages")).unwrap();
        let alpha = simple_rpm("alpha", "1.0", "1", arch).unwrap();
        std::fs::write(os.join(format!("Packages/alpha-1.0-1.{arch}.rpm")), alpha).unwrap();
        let mut noarch = common.clone();
        if differ {
            // Trailing bytes: the same header, another file.
            noarch.extend(std::iter::repeat_n(0u8, i + 1));
        }
        std::fs::write(os.join("Packages/common-1.0-1.noarch.rpm"), noarch).unwrap();
        let output = Command::new("createrepo_c")
            .args(["--quiet", "--checksum=sha256"])
            .arg(&os)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }
}

/// Both arch trees to `el/9` (in mirror mode, as `world_of` writes), with
/// `more` config.
fn compose_world(root: &Path, more: &str) -> World {
    let entry = |arch: &str| {
        format!(
            "  - url: {}\n    distro: el/9\n",
            root.join(arch).join("os").display()
        )
    };
    world_of(&format!(
        "rpm-md:\n{}{}{more}",
        entry("x86_64"),
        entry("aarch64")
    ))
}

fn planned(world: &World) -> (Plan, Vec<String>) {
    let plan = pkgsync::plan::file::read(&world.plan_out("plan.json")).unwrap();
    let mut files: Vec<String> = plan.actions.iter().map(|a| a.filename.clone()).collect();
    files.sort();
    (plan, files)
}

#[test]
fn a_noarch_rpm_in_both_arch_trees_of_a_compose_is_one_upload_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    compose(dir.path(), &["x86_64", "aarch64"], false);
    let world = compose_world(dir.path(), "");
    let (plan, files) = planned(&world);
    assert_eq!(
        files,
        [
            "alpha-1.0-1.aarch64.rpm",
            "alpha-1.0-1.x86_64.rpm",
            "common-1.0-1.noarch.rpm"
        ]
    );
    let common = plan
        .actions
        .iter()
        .find(|a| a.filename.starts_with("common"))
        .and_then(|a| a.source.as_ref())
        .unwrap();
    let origin = common.provenance.to_string();
    let [also] = &common.also_listed_by[..] else {
        panic!("{common:?}")
    };
    assert!(origin.contains("x86_64/os"), "{origin}");
    assert!(also.contains("aarch64/os"), "{also}");
    let shown = world
        .pkgsync(&["show", world.path("plan.json").to_str().unwrap()])
        .expect(0);
    assert!(
        shown.stdout.contains(&format!("also listed by {also}")),
        "{}",
        shown.stdout
    );

    let plan_path = world.path("plan.json");
    world
        .pkgsync(&[
            "apply",
            plan_path.to_str().unwrap(),
            "--config",
            world.config(),
        ])
        .expect(0);
    assert_eq!(world.stored().len(), 3);
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
}

#[test]
fn other_bytes_under_one_name_fail_the_plan_naming_both_origins() {
    let dir = tempfile::tempdir().unwrap();
    compose(dir.path(), &["x86_64", "aarch64"], true);
    let world = compose_world(dir.path(), "");
    let run = world.plan_refused(&[
        "common-1.0-1.noarch.rpm",
        "different content",
        "x86_64/os",
        "aarch64/os",
    ]);
    assert!(
        !run.stderr.contains("alpha"),
        "only that file: {}",
        run.stderr
    );
}

#[test]
fn package_and_arch_filters_select_from_rpm_md_repositories() {
    let dir = tempfile::tempdir().unwrap();
    compose(dir.path(), &["x86_64", "aarch64"], false);
    let world = compose_world(
        dir.path(),
        "filters:\n  architectures:\n    include: [x86_64]\n",
    );
    let (_, files) = planned(&world);
    assert_eq!(files, ["alpha-1.0-1.x86_64.rpm", "common-1.0-1.noarch.rpm"]);

    let world = compose_world(dir.path(), "filters:\n  packages:\n    exclude: [common]\n");
    world.edit_config("mode: mirror", "mode: additive");
    let (_, files) = planned(&world);
    assert_eq!(files, ["alpha-1.0-1.aarch64.rpm", "alpha-1.0-1.x86_64.rpm"]);
}

#[test]
fn an_arch_filter_narrows_what_a_mirror_plan_may_delete() {
    let dir = tempfile::tempdir().unwrap();
    compose(dir.path(), &["x86_64", "aarch64"], false);
    let world = compose_world(dir.path(), "");
    let plan_path = world.plan_out("plan.json");
    world
        .pkgsync(&[
            "apply",
            plan_path.to_str().unwrap(),
            "--config",
            world.config(),
        ])
        .expect(0);
    // With aarch64 filtered out, its stored rpm is not this config's to
    // delete, though no repository read offers it any more.
    let text = std::fs::read_to_string(world.config()).unwrap();
    std::fs::write(
        world.config(),
        format!("{text}filters:\n  architectures:\n    exclude: [aarch64]\n"),
    )
    .unwrap();
    let (plan, files) = planned(&world);
    assert!(files.is_empty(), "{files:?}");
    assert_eq!(plan.summary.delete, 0);
}

/// `root/os` holding exactly `rpms` (`(name, release)`, x86_64), indexed anew.
fn repository(root: &Path, rpms: &[(&str, &str)]) {
    install_tools(&["createrepo-c"]);
    let os = root.join("os");
    let _ = std::fs::remove_dir_all(&os);
    std::fs::create_dir_all(os.join("Packages")).unwrap();
    for (name, release) in rpms {
        let bytes = simple_rpm(name, "1.0", release, "x86_64").unwrap();
        let file = format!("Packages/{name}-1.0-{release}.x86_64.rpm");
        std::fs::write(os.join(file), bytes).unwrap();
    }
    let output = Command::new("createrepo_c")
        .args(["--quiet"])
        .arg(&os)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn a_source_gone_back_to_older_versions_does_not_delete_the_newer_ones_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    repository(dir.path(), &[("alpha", "2"), ("beta", "1")]);
    let world = world_of(&format!(
        "rpm-md:\n  - url: {}\n    distro: el/9\n",
        dir.path().join("os").display()
    ));
    let plan = world.plan_out("plan.json");
    world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);

    // An older snapshot served again: alpha is back at release 1, beta is gone.
    repository(dir.path(), &[("alpha", "1")]);
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(3);
    for word in [
        "went backwards",
        "el/9/alpha-1.0-2.x86_64.rpm",
        "alpha-1.0-1.x86_64.rpm",
    ] {
        assert!(run.stderr.contains(word), "{word}: {}", run.stderr);
    }
    assert!(
        run.stderr.contains("sync.allow_downgrade"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("beta-1.0-1"),
        "beta is an orphan, not a downgrade"
    );

    world.edit_config("mode: mirror", "mode: mirror\n  allow_downgrade: true");
    let (plan, files) = planned(&world);
    assert_eq!(plan.summary.delete, 2);
    assert_eq!(plan.summary.upload, 1);
    assert_eq!(
        files,
        [
            "alpha-1.0-1.x86_64.rpm",
            "alpha-1.0-2.x86_64.rpm",
            "beta-1.0-1.x86_64.rpm"
        ]
    );
}
