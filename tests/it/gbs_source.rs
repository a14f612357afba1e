//! GBS snapshot trees as a source, end to end: trees of real rpms with
//! `createrepo_c` metadata per repo × arch and build.xml in both forms,
//! served over loopback HTTP and read from a local path, planned and applied
//! into the Packagecloud emulator; the build id pins the plan.

use crate::support::World;
use crate::support::trees::{MAPPING, Served, apply, new_tree, plan, tree, world};
use pkgsync::model::Provenance;
use pkgsync::plan::Plan;
use pkgsync_sandbox::gbs::{BuildXmlForm, SampleBuild};
use sha2::{Digest, Sha256};
use std::path::Path;

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// What a plan uploads, as `distro/version/filename`.
fn uploads(plan: &Plan) -> Vec<String> {
    plan.actions
        .iter()
        .map(|a| format!("{}/{}", a.distro_version, a.filename))
        .collect()
}

/// plan → apply → plan: the binary and noarch rpms of both repos and arches,
/// each stored with the sha256 of its file in the tree, then nothing to do.
fn converges(world: &World, dated: &Path, id: &str) -> Plan {
    let plan = plan(world, "plan.json");
    assert_eq!(plan.format_version, "1.3");
    assert_eq!(
        uploads(&plan),
        [
            "fedora/39/base-data-1.0-1.noarch.rpm",
            "fedora/39/base-tool-1.0-1.armv7l.rpm",
            "fedora/39/base-tool-1.0-1.i686.rpm",
            "fedora/40/main-data-1.0-1.noarch.rpm",
            "fedora/40/main-tool-1.0-1.armv7l.rpm",
            "fedora/40/main-tool-1.0-1.i686.rpm",
        ]
    );
    // build.xml is pinned by its digest and build id, beside the four repomds.
    let build_xml = &plan
        .indexes
        .iter()
        .find(|i| i.url.ends_with("builddata/build.xml"));
    let build_xml = build_xml.expect("build.xml is recorded");
    let digest = sha256_of(&dated.join("builddata/build.xml"));
    assert_eq!(build_xml.digest, format!("sha256:{digest}"));
    assert_eq!(build_xml.revision.as_deref(), Some(id));
    assert_eq!(plan.indexes.len(), 5, "{:#?}", plan.indexes);
    for action in &plan.actions {
        let source = action.source.as_ref().unwrap();
        let Provenance::Gbs(file) = &source.provenance else {
            panic!("{source:?}")
        };
        assert_eq!(file.build_id, id);
        let on_disk = dated.join(&file.repository).join(&file.location);
        assert_eq!(source.sha256.as_deref(), Some(sha256_of(&on_disk).as_str()));
    }
    apply(world, "plan.json").expect(0);
    let stored = world.stored();
    assert_eq!(stored.len(), 6, "{stored:?}");
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
    plan
}

#[test]
fn a_tree_over_http_in_either_build_xml_form_syncs_end_to_end() {
    for form in [BuildXmlForm::Legacy, BuildXmlForm::Targets] {
        let build = SampleBuild::new("tizen_20260101.1", "1", form);
        let dir = new_tree(&build);
        let served = Served::new(dir.path());
        let world = world(&served.latest(), MAPPING, "");
        let plan = converges(&world, &dir.path().join(&build.id), &build.id);
        let shown = world
            .pkgsync(&["show", world.path("plan.json").to_str().unwrap()])
            .expect(0);
        assert!(
            shown.stdout.contains("tizen_20260101.1"),
            "{}",
            shown.stdout
        );
        assert!(plan.indexes.iter().all(|i| i.url.contains("/latest/")));
    }
}

#[test]
fn a_tree_on_disk_is_read_below_the_directory_latest_resolves_to() {
    let build = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Targets);
    let dir = new_tree(&build);
    let latest = dir.path().join("latest");
    let world = world(latest.to_str().unwrap(), MAPPING, "");
    let dated = std::fs::canonicalize(dir.path().join(&build.id)).unwrap();
    let plan = converges(&world, &dated, &build.id);
    let resolved = url::Url::from_directory_path(&dated).unwrap();
    let resolved = resolved.as_str().trim_end_matches('/');
    for action in &plan.actions {
        let Provenance::Gbs(file) = &action.source.as_ref().unwrap().provenance else {
            panic!()
        };
        assert_eq!(file.resolved.as_deref(), Some(resolved));
        assert!(file.tree.ends_with("/latest"), "{}", file.tree);
    }
    assert!(plan.indexes.iter().all(|i| i.url.starts_with(resolved)));
}

#[test]
fn filters_a_skipped_arch_and_the_debug_and_source_switches_choose_what_is_read() {
    let build = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Legacy);
    let dir = new_tree(&build);
    let latest = dir.path().join("latest");
    // tizen-main's armv7l is skipped by the mapping, tizen-base's by the
    // filter naming the rpm arch of ia32; debug and source rpms are taken.
    let mapping = format!("{MAPPING}      tizen-main/armv7l: ~\n");
    let filters = "filters:\n  architectures:\n    include: [i686]\n  debug_packages: true\n  source_packages: true\n";
    let world = world(latest.to_str().unwrap(), &mapping, filters);
    let plan = plan(&world, "filtered.json");
    assert_eq!(
        uploads(&plan),
        [
            "fedora/39/base-data-1.0-1.noarch.rpm",
            "fedora/39/base-tool-1.0-1.i686.rpm",
            "fedora/39/base-tool-1.0-1.src.rpm",
            "fedora/39/base-tool-debuginfo-1.0-1.i686.rpm",
            "fedora/40/main-data-1.0-1.noarch.rpm",
            "fedora/40/main-tool-1.0-1.i686.rpm",
            "fedora/40/main-tool-1.0-1.src.rpm",
            "fedora/40/main-tool-debuginfo-1.0-1.i686.rpm",
        ]
    );
    // Only ia32's three repositories per repo were read, and build.xml.
    assert_eq!(plan.indexes.len(), 7, "{:#?}", plan.indexes);
    assert!(plan.indexes.iter().all(|i| !i.url.contains("armv7l")));
    apply(&world, "filtered.json").expect(0);
    assert_eq!(world.stored().len(), 8);
}

#[test]
fn repos_the_config_does_not_map_are_all_named_and_nothing_is_read_further() {
    let build = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Targets);
    let dir = new_tree(&build);
    let served = Served::new(dir.path());
    let world = world(
        &served.latest(),
        "    mapping:\n      tizen-extra: fedora/39\n",
        "",
    );
    let run = world.pkgsync(&["plan", "--config", world.config()]);
    assert_ne!(run.code, 0);
    for word in [
        "tizen-base, tizen-main",
        "tizen_20260101.1",
        "gbs[].mapping",
    ] {
        assert!(run.stderr.contains(word), "{word}: {}", run.stderr);
    }
    let read: Vec<String> = served
        .server()
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        read,
        ["/latest/builddata/build.xml"],
        "no repository is read"
    );

    // A repo mapped for one arch only is named with the arch it lacks.
    let mapping = "    mapping:\n      tizen-base: fedora/39\n      tizen-main/ia32: fedora/40\n";
    let by_arch = crate::support::trees::world(&served.latest(), mapping, "");
    let run = by_arch.pkgsync(&["plan", "--config", by_arch.config()]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("): tizen-main/armv7l"),
        "{}",
        run.stderr
    );
}

#[test]
fn latest_switched_to_another_build_refuses_apply_naming_both_ids() {
    let dir = new_tree(&SampleBuild::new(
        "tizen_20260101.1",
        "1",
        BuildXmlForm::Legacy,
    ));
    let served = Served::new(dir.path());
    let world = world(&served.latest(), MAPPING, "");
    plan(&world, "plan.json");

    // The next build rebuilt everything: no planned file holds.
    tree(
        dir.path(),
        &SampleBuild::new("tizen_20260102.1", "2", BuildXmlForm::Legacy),
    );
    let before = world.sandbox().packagecloud().requests().len();
    let run = apply(&world, "plan.json").expect(4);
    for word in ["tizen_20260101.1", "tizen_20260102.1", "stale"] {
        assert!(run.stderr.contains(word), "{word}: {}", run.stderr);
    }
    assert!(world.stored().is_empty());
    let after = world.sandbox().packagecloud().requests();
    assert!(
        after[before..].iter().all(|r| r.method == "GET"),
        "{after:?}"
    );

    // A build whose files are the planned ones (same bytes): every action
    // still holds, and apply completes.
    tree(
        dir.path(),
        &SampleBuild::new("tizen_20260103.1", "1", BuildXmlForm::Legacy),
    );
    apply(&world, "plan.json").expect(0);
    assert_eq!(world.stored().len(), 6);
}

#[test]
fn a_tree_is_read_through_the_proxy_the_environment_names_and_its_password_is_never_shown() {
    let dir = new_tree(&SampleBuild::new(
        "tizen_20260101.1",
        "1",
        BuildXmlForm::Legacy,
    ));
    // The file server stands in for a forwarding proxy: it serves the path of
    // the absolute URL it is asked for. `gbs.invalid` resolves nowhere, so
    // the tree can only be read through it; Packagecloud (127.0.0.1) is
    // reached directly because of `no_proxy`.
    let mut proxy = Served::new(dir.path());
    let port = proxy.server().url().rsplit(':').next().unwrap().to_string();
    let world = world("http://gbs.invalid/latest", MAPPING, "");
    let out = world.path("proxied.json");
    let through = |proxy_port: &str| {
        let http_proxy = format!("http://mirror-user:s3cret-pw@127.0.0.1:{proxy_port}");
        world.pkgsync_with(
            &[
                "plan",
                "--config",
                world.config(),
                "--out",
                out.to_str().unwrap(),
            ],
            &[
                ("http_proxy", http_proxy.as_str()),
                ("no_proxy", "127.0.0.1"),
            ],
        )
    };
    through(&port).expect(0);
    assert_eq!(pkgsync::plan::file::read(&out).unwrap().summary.upload, 6);
    let asked: Vec<String> = proxy
        .server()
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        asked.contains(&"/latest/builddata/build.xml".to_string()),
        "{asked:?}"
    );
    proxy.shutdown();

    // The proxy is gone: the plan fails, and no message shows its password.
    let run = through(&port);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("gbs.invalid"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret-pw") && !run.stdout.contains("s3cret-pw"));
}

#[test]
fn a_signed_tree_verifies_every_repository_against_its_key() {
    crate::support::install_tools(&["gnupg"]);
    let build = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Legacy);
    let dir = new_tree(&build);
    let key = crate::support::gpg::Gpg::new(dir.path(), "tree");
    let other = crate::support::gpg::Gpg::new(dir.path(), "other");
    for repo in ["tizen-base", "tizen-main"] {
        for target in ["armv7l", "ia32"] {
            let repomd = format!(
                "{}/repos/{repo}/{target}/packages/repodata/repomd.xml",
                build.id
            );
            key.detach_sign(&dir.path().join(repomd));
        }
    }
    let latest = dir.path().join("latest");
    let signed = |key: &crate::support::gpg::Gpg| {
        let signed_by = format!("    signed_by: {}\n", key.public_key.display());
        world(
            latest.to_str().unwrap(),
            &format!("{MAPPING}{signed_by}"),
            "",
        )
    };
    let world = signed(&key);
    let plan = plan(&world, "signed.json");
    assert_eq!(
        plan.config.gbs[0].signed_by,
        std::slice::from_ref(&key.fingerprint)
    );
    assert_eq!(plan.summary.upload, 6);

    let world = signed(&other);
    let run = world.pkgsync(&["plan", "--config", world.config()]);
    assert_ne!(run.code, 0);
    for word in ["repomd.xml.asc", "no valid signature", "tizen_20260101.1"] {
        assert!(run.stderr.contains(word), "{word}: {}", run.stderr);
    }
}

#[test]
fn a_tree_on_disk_whose_latest_moved_is_stale_as_a_whole_even_with_the_same_files() {
    let first = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Targets);
    let dir = new_tree(&first);
    let latest = dir.path().join("latest");
    let world = world(latest.to_str().unwrap(), MAPPING, "");
    plan(&world, "plan.json");
    // The same packages, byte for byte, under another build.
    tree(
        dir.path(),
        &SampleBuild::new("tizen_20260102.1", "1", BuildXmlForm::Targets),
    );
    let run = apply(&world, "plan.json").expect(4);
    for word in ["tizen_20260101.1", "tizen_20260102.1", "resolves to"] {
        assert!(run.stderr.contains(word), "{word}: {}", run.stderr);
    }
    assert!(world.stored().is_empty());
}

#[test]
fn every_tree_that_cannot_be_read_is_named_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("gone-a"), dir.path().join("gone-b"));
    let world = crate::support::world_of(&format!(
        "gbs:\n  - url: {}\n    mapping:\n      tizen-base: fedora/39\n  - url: {}\n    mapping:\n      tizen-base: fedora/40\n",
        a.display(),
        b.display()
    ));
    world.plan_refused(&["2 sources could not be read", "gone-a", "gone-b"]);
}

#[test]
fn a_package_filter_selects_from_a_tree_as_from_obs() {
    let build = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Legacy);
    let dir = new_tree(&build);
    let latest = dir.path().join("latest");
    let filters =
        "filters:\n  architectures:\n    include: [i686]\n  packages:\n    include: ['*-tool']\n";
    let world = world(latest.to_str().unwrap(), MAPPING, filters);
    world.edit_config("mode: mirror", "mode: additive");
    let plan = plan(&world, "filtered.json");
    assert_eq!(
        uploads(&plan),
        [
            "fedora/39/base-tool-1.0-1.i686.rpm",
            "fedora/40/main-tool-1.0-1.i686.rpm",
        ]
    );
}
