//! Compose trees on a mounted file system (the Rocky Linux SIG workflow): a
//! compose lands in a dated directory, `latest-SIG-<name>-<release>` links to
//! it, and its repositories are rpm-md made by `createrepo_c`. pkgsync reads
//! them by path, records the directory the link resolved to, and never mixes
//! two composes.

use crate::support::{World, install_tools, world_of};
use pkgsync::plan::{ActionKind, Plan};
use pkgsync_sandbox::gbs::point_latest;
use pkgsync_sandbox::packages::simple_rpm;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

const LINK: &str = "latest-SIG-demo-9";

/// `root/<dated>/BaseOS/x86_64/os` with the rpms `(name, release)` and its
/// createrepo_c metadata, and `root/latest-SIG-demo-9` pointing at it.
fn compose(root: &Path, dated: &str, rpms: &[(&str, &str)]) -> PathBuf {
    install_tools(&["createrepo-c"]);
    let os = root.join(dated).join("BaseOS/x86_64/os");
    std::fs::create_dir_all(os.join("Packages")).unwrap();
    for (name, release) in rpms {
        let bytes = simple_rpm(name, "1.0", release, "x86_64").unwrap();
        let file = format!("Packages/{name}-1.0-{release}.x86_64.rpm");
        std::fs::write(os.join(file), bytes).unwrap();
    }
    let output = Command::new("createrepo_c")
        .args(["--quiet", "--checksum=sha256"])
        .arg(&os)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    point_latest(root, LINK, dated).unwrap();
    std::fs::canonicalize(os).unwrap()
}

fn world(root: &Path) -> World {
    let url = root.join(LINK).join("BaseOS/x86_64/os");
    world_of(&format!(
        "rpm-md:\n  - url: {}\n    distro: el/9\n",
        url.display()
    ))
}

fn apply(world: &World, plan: &Path) -> crate::support::Run {
    world.pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
}

fn read(path: &Path) -> Plan {
    pkgsync::plan::file::read(path).unwrap()
}

fn file_url(dir: &Path) -> String {
    let url = url::Url::from_directory_path(dir).unwrap();
    url.as_str().trim_end_matches('/').to_string()
}

#[test]
fn a_compose_switched_after_planning_refuses_apply_and_nothing_of_the_new_one_is_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let first = compose(
        dir.path(),
        "Rocky-9-SIG-demo-20261201.0",
        &[("alpha", "1"), ("beta", "1")],
    );
    let world = world(dir.path());
    let path = world.plan_out("plan.json");
    let plan = read(&path);
    assert_eq!(plan.format_version, "1.3");
    assert_eq!(plan.summary.upload, 2);
    // The plan names the dated directory, not the link.
    let [index] = &plan.indexes[..] else {
        panic!("{:?}", plan.indexes)
    };
    assert_eq!(
        index.url,
        format!("{}/repodata/repomd.xml", file_url(&first))
    );

    // The next compose keeps alpha as it was and rebuilds beta.
    let second = compose(
        dir.path(),
        "Rocky-9-SIG-demo-20261202.0",
        &[("alpha", "1"), ("beta", "2")],
    );
    let before = world.sandbox().packagecloud().requests().len();
    let run = apply(&world, &path).expect(4);
    for word in [file_url(&first), file_url(&second), "stale".to_string()] {
        assert!(run.stderr.contains(&word), "{word}: {}", run.stderr);
    }
    assert!(world.stored().is_empty(), "nothing is uploaded");
    let requests = world.sandbox().packagecloud().requests();
    assert!(requests[before..].iter().all(|r| r.method == "GET"));

    // Back on the planned compose, the plan applies, with its own bytes.
    point_latest(dir.path(), LINK, "Rocky-9-SIG-demo-20261201.0").unwrap();
    apply(&world, &path).expect(0);
    let stored = world.stored();
    let expected = |name: &str| {
        let file = first.join(format!("Packages/{name}-1.0-1.x86_64.rpm"));
        hex::encode(Sha256::digest(std::fs::read(file).unwrap()))
    };
    assert_eq!(
        stored,
        [
            ("el/9/alpha-1.0-1.x86_64.rpm".to_string(), expected("alpha")),
            ("el/9/beta-1.0-1.x86_64.rpm".to_string(), expected("beta")),
        ]
    );
}

#[test]
fn a_mirror_plan_from_a_new_compose_deletes_what_left_it_within_the_guards() {
    let dir = tempfile::tempdir().unwrap();
    compose(
        dir.path(),
        "c1",
        &[("alpha", "1"), ("beta", "1"), ("gamma", "1")],
    );
    let world = world(dir.path());
    let path = world.plan_out("first.json");
    apply(&world, &path).expect(0);
    assert_eq!(world.stored().len(), 3);

    // beta left the compose, gamma was rebuilt.
    compose(dir.path(), "c2", &[("alpha", "1"), ("gamma", "2")]);
    world.edit_config("max_delete_percent: 100", "max_delete_percent: 50");
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(3);
    assert!(
        run.stderr.contains("delete 2 of 3") && run.stderr.contains("el/9/beta-1.0-1.x86_64.rpm"),
        "{}",
        run.stderr
    );
    assert_eq!(world.stored().len(), 3, "a tripped guard changes nothing");

    world.edit_config("max_delete_percent: 50", "max_delete_percent: 100");
    let path = world.plan_out("second.json");
    let plan = read(&path);
    let actions: Vec<(ActionKind, &str)> = plan
        .actions
        .iter()
        .map(|a| (a.action, a.filename.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            (ActionKind::Delete, "beta-1.0-1.x86_64.rpm"),
            (ActionKind::Delete, "gamma-1.0-1.x86_64.rpm"),
            (ActionKind::Upload, "gamma-1.0-2.x86_64.rpm"),
        ]
    );
    apply(&world, &path).expect(0);
    let stored: Vec<String> = world.stored().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        stored,
        ["el/9/alpha-1.0-1.x86_64.rpm", "el/9/gamma-1.0-2.x86_64.rpm"]
    );
}

#[test]
fn tree_locations_and_gbs_mappings_are_checked_when_the_config_is_read() {
    use pkgsync::config::{Config, Environment};
    let parse = |sources: &str| {
        let text = format!("{sources}packagecloud:\n  repo: a/b\n");
        Config::parse(&text, Path::new("x.yaml"), &Environment::default())
    };
    let error = |sources: &str| parse(sources).unwrap_err().to_string();

    // A path and a file:// URL name the same directory, unresolved.
    let by_path =
        parse("rpm-md:\n  - url: /mnt/compose/9/latest-SIG-x-9/BaseOS/\n    distro: el/9\n");
    let by_url =
        parse("rpm-md:\n  - url: file:///mnt/compose/9/latest-SIG-x-9/BaseOS\n    distro: el/9\n");
    let url = "file:///mnt/compose/9/latest-SIG-x-9/BaseOS";
    assert_eq!(by_path.unwrap().rpm_md[0].url, url);
    assert_eq!(by_url.unwrap().rpm_md[0].url, url);
    for (sources, says) in [
        (
            "rpm-md:\n  - url: compose/BaseOS\n    distro: el/9\n",
            "neither a URL nor an absolute path",
        ),
        (
            "rpm-md:\n  - url: ftp://host/x\n    distro: el/9\n",
            "http or https",
        ),
        (
            "gbs:\n  - url: https://example.org/latest\n",
            "map the tree's repos",
        ),
        (
            "gbs:\n  - url: https://example.org/latest\n    mapping:\n      a/b/c: el/9\n",
            "`a/b/c` is neither a repo nor `repo/arch`",
        ),
        (
            "gbs:\n  - url: https://example.org/latest\n    mapping:\n      base: nodistro\n",
            "gbs[0].mapping.base",
        ),
        (
            "gbs:\n  - url: https://u:p@example.org/latest\n    mapping:\n      base: el/9\n",
            "must not carry credentials",
        ),
    ] {
        let message = error(sources);
        assert!(message.contains(says), "{says}: {message}");
        assert!(!message.contains("u:p@"), "{message}");
    }
    let config = parse(
        "gbs:\n  - url: /srv/tizen/latest\n    mapping:\n      base: el/9\n      main/ia32: ~\n",
    )
    .unwrap();
    assert_eq!(config.gbs[0].url, "file:///srv/tizen/latest");
    assert_eq!(config.gbs[0].mapping["main/ia32"], None);
}

#[test]
fn a_file_on_disk_is_verified_when_read_and_a_missing_compose_fails_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let os = compose(dir.path(), "c1", &[("alpha", "1"), ("beta", "1")]);
    let world = world(dir.path());
    let path = world.plan_out("plan.json");
    // alpha changes on disk, its metadata does not: the copy is refused.
    let alpha = os.join("Packages/alpha-1.0-1.x86_64.rpm");
    let mut bytes = std::fs::read(&alpha).unwrap();
    let n = bytes.len() - 1;
    bytes[n] ^= 1;
    std::fs::write(&alpha, bytes).unwrap();
    let run = apply(&world, &path).expect(5);
    assert!(
        run.stderr.contains("alpha-1.0-1.x86_64.rpm") && run.stderr.contains("sha256"),
        "{}",
        run.stderr
    );
    assert!(!world.stored().iter().any(|(p, _)| p.contains("alpha")));

    std::fs::remove_file(dir.path().join(LINK)).unwrap();
    let run = world.pkgsync(&["plan", "--config", world.config()]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains(LINK) && run.stderr.contains("cannot resolve"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_remote_repository_naming_a_local_xml_base_is_refused() {
    install_tools(&["createrepo-c"]);
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let rpm = simple_rpm("alpha", "1.0", "1", "x86_64").unwrap();
    std::fs::write(repo.join("alpha-1.0-1.x86_64.rpm"), rpm).unwrap();
    let output = Command::new("createrepo_c")
        .args(["--quiet", "--checksum=sha256", "--baseurl", "file:///etc"])
        .arg(&repo)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime
        .block_on(pkgsync_sandbox::files::FileServer::start(
            dir.path().to_path_buf(),
        ))
        .unwrap();
    let world = world_of(&format!(
        "rpm-md:\n  - url: {}/repo\n    distro: el/9\n",
        server.url()
    ));
    let run = world.pkgsync(&["plan", "--config", world.config()]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("names a local directory"),
        "{}",
        run.stderr
    );
    runtime.block_on(server.shutdown());
}
