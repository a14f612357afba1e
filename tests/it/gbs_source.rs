//! GBS snapshot trees as a source, end to end: trees of real rpms with
//! `createrepo_c` metadata per repo × arch and build.xml in both forms,
//! served over loopback HTTP and read from a local path, planned and applied
//! into the Packagecloud emulator; the build id pins the plan.

use crate::support::{World, install_tools, world_of};
use pkgsync::model::Provenance;
use pkgsync::plan::Plan;
use pkgsync_sandbox::files::FileServer;
use pkgsync_sandbox::gbs::{BuildXmlForm, Indexer, SampleBuild, point_latest};
use sha2::{Digest, Sha256};
use std::path::Path;

/// `root/<id>/` written by createrepo_c, and `root/latest` pointing at it.
fn tree(root: &Path, build: &SampleBuild) {
    install_tools(&["createrepo-c"]);
    build.write(root, Indexer::CreaterepoC).unwrap();
    point_latest(root, "latest", &build.id).unwrap();
}

/// A temporary directory holding the tree of `build`.
fn new_tree(build: &SampleBuild) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path(), build);
    dir
}

const MAPPING: &str = "    mapping:\n      tizen-base: fedora/39\n      tizen-main: fedora/40\n";

fn world(url: &str, mapping: &str, more: &str) -> World {
    world_of(&format!("gbs:\n  - url: {url}\n{mapping}{more}"))
}

/// A directory served over loopback HTTP, until dropped.
struct Served {
    runtime: tokio::runtime::Runtime,
    server: Option<FileServer>,
}

impl Served {
    fn new(root: &Path) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(FileServer::start(root.to_path_buf()));
        Self {
            runtime,
            server: Some(server.unwrap()),
        }
    }

    fn server(&self) -> &FileServer {
        self.server.as_ref().unwrap()
    }

    fn latest(&self) -> String {
        format!("{}/latest", self.server().url())
    }

    fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A world whose sandbox serves `build` as its GBS tree, mapped by `mapping`.
fn sandbox_world(build: &SampleBuild, mapping: &str) -> World {
    let world = world_of("");
    let latest = world.sandbox().publish_gbs(build).unwrap();
    let rest = std::fs::read_to_string(&world.config).unwrap();
    let config = format!("gbs:\n  - url: {latest}\n{mapping}{rest}");
    std::fs::write(&world.config, config).unwrap();
    world
}

fn plan(world: &World, name: &str) -> Plan {
    pkgsync::plan::file::read(&world.plan_out(name)).unwrap()
}

fn apply(world: &World, name: &str) -> crate::support::Run {
    let plan = world.path(name);
    world.pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
}

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
