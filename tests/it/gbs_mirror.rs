//! GBS trees in mirror mode: what a new build deletes, and what it must not
//! (the files of a repo the build dropped, of an arch left out, of a
//! repository that cannot be read).

use crate::support::trees::{MAPPING, apply, new_tree, plan, sandbox_world, world};
use pkgsync_sandbox::gbs::{BuildXmlForm, SampleBuild};

#[test]
fn a_repo_arch_build_xml_names_but_the_tree_lacks_fails_the_plan_and_deletes_nothing() {
    let build = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Targets);
    let dir = new_tree(&build);
    let latest = dir.path().join("latest");
    let world = world(latest.to_str().unwrap(), MAPPING, "");
    let path = world.plan_out("plan.json");
    apply(&world, "plan.json").expect(0);
    assert!(path.exists());
    // armv7l of tizen-main is half published: no metadata. In mirror mode an
    // empty listing would delete its packages; an unreadable one fails.
    let repodata = dir
        .path()
        .join(&build.id)
        .join("repos/tizen-main/armv7l/packages/repodata");
    std::fs::remove_dir_all(repodata).unwrap();
    let run = world.pkgsync(&["plan", "--config", world.config()]);
    assert_ne!(run.code, 0);
    for word in [
        "repos/tizen-main/armv7l/packages",
        "tizen_20260101.1",
        "repomd.xml",
    ] {
        assert!(run.stderr.contains(word), "{word}: {}", run.stderr);
    }
    assert_eq!(world.stored().len(), 6);
}

#[test]
fn the_sandbox_serves_a_tree_whose_latest_moves_and_a_repo_dropped_from_the_build_keeps_its_packages()
 {
    let first = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Targets);
    let world = sandbox_world(&first, MAPPING);
    assert_eq!(plan(&world, "first.json").summary.upload, 6);
    apply(&world, "first.json").expect(0);

    // The next build drops tizen-main and rebuilds tizen-base.
    let mut next = SampleBuild::new("tizen_20260102.1", "2", BuildXmlForm::Targets);
    next.without = vec!["tizen-main".to_string()];
    world.sandbox().publish_gbs(&next).unwrap();
    let plan = plan(&world, "next.json");
    let kinds: Vec<String> = plan
        .actions
        .iter()
        .map(|a| format!("{} {}/{}", a.action.as_str(), a.distro_version, a.filename))
        .collect();
    assert_eq!(
        kinds,
        [
            "delete fedora/39/base-data-1.0-1.noarch.rpm",
            "upload fedora/39/base-data-1.0-2.noarch.rpm",
            "delete fedora/39/base-tool-1.0-1.armv7l.rpm",
            "delete fedora/39/base-tool-1.0-1.i686.rpm",
            "upload fedora/39/base-tool-1.0-2.armv7l.rpm",
            "upload fedora/39/base-tool-1.0-2.i686.rpm",
        ]
    );
    apply(&world, "next.json").expect(0);
    let stored: Vec<String> = world.stored().into_iter().map(|(p, _)| p).collect();
    assert_eq!(stored.len(), 6, "tizen-main's three stay: {stored:?}");
}

#[test]
fn with_an_arch_left_out_only_the_files_of_the_arches_read_are_deleted() {
    let first = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Legacy);
    let mapping = "    mapping:\n      tizen-base: fedora/39\n      tizen-main: ~\n";
    let world = sandbox_world(&first, mapping);
    assert_eq!(plan(&world, "first.json").summary.upload, 3);
    apply(&world, "first.json").expect(0);
    assert_eq!(world.stored().len(), 3);

    // armv7l is no longer taken; the next build rebuilt everything.
    world.edit_config("tizen-main: ~", "tizen-main: ~\n      tizen-base/armv7l: ~");
    world
        .sandbox()
        .publish_gbs(&SampleBuild::new(
            "tizen_20260102.1",
            "2",
            BuildXmlForm::Legacy,
        ))
        .unwrap();
    let plan = plan(&world, "next.json");
    let actions: Vec<String> = plan
        .actions
        .iter()
        .map(|a| format!("{} {}", a.action.as_str(), a.filename))
        .collect();
    // The armv7l rpm and the noarch one (which armv7l lists too) stay.
    assert_eq!(
        actions,
        [
            "upload base-data-1.0-2.noarch.rpm",
            "delete base-tool-1.0-1.i686.rpm",
            "upload base-tool-1.0-2.i686.rpm",
        ]
    );
}

/// Two repos into one distro, and the next build drops one of them: nothing
/// was read that says its packages are gone, so no delete runs there (the
/// plan says why), while the other repo's new files are uploaded.
#[test]
fn a_repo_dropped_from_the_build_withholds_the_deletes_of_a_distro_it_shares() {
    let first = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Targets);
    let shared = "    mapping:\n      tizen-base: fedora/39\n      tizen-main: fedora/39\n";
    let world = sandbox_world(&first, shared);
    assert_eq!(plan(&world, "first.json").summary.upload, 6);
    apply(&world, "first.json").expect(0);

    let mut next = SampleBuild::new("tizen_20260102.1", "2", BuildXmlForm::Targets);
    next.without = vec!["tizen-main".to_string()];
    world.sandbox().publish_gbs(&next).unwrap();
    let plan = plan(&world, "next.json");
    assert_eq!(plan.summary.delete, 0, "{:?}", plan.actions);
    assert_eq!(plan.summary.upload, 3);
    let withheld = &plan.withheld[0];
    assert_eq!(withheld.distro_version, "fedora/39");
    assert!(
        withheld.reasons[0].contains("tizen-main")
            && withheld.reasons[0].contains("tizen_20260102.1"),
        "{:?}",
        withheld.reasons
    );
    apply(&world, "next.json").expect(0);
    assert_eq!(world.stored().len(), 9, "every old file stays");
}
