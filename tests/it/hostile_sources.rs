//! Published repositories and trees as a hostile publisher would make them:
//! names that are path escapes once decoded, checksums too weak to verify
//! by, forged build ids. Each is refused before one package is believed, and
//! the message names the file and the name.

use crate::deb_source::{served_flat, world as deb_world, write_debs};
use crate::rpmmd_source::{repository, serve, world as rpm_world};
use crate::support::sh;
use crate::support::trees::{MAPPING, Served, new_tree, world as gbs_world};
use pkgsync_sandbox::gbs::{BuildXmlForm, SampleBuild};
use pkgsync_sandbox::packages::simple_rpm;
use std::path::Path;
use std::process::Command;

const ESCAPE: &str = "%2e%2e%2f%2e%2e%2fetc";

/// The sample tree (legacy build.xml) served over HTTP, its build.xml
/// edited by `edit`.
fn hostile_tree(edit: impl Fn(&str) -> String) -> (tempfile::TempDir, Served) {
    let build = SampleBuild::new("tizen_20260101.1", "1", BuildXmlForm::Legacy);
    let dir = new_tree(&build);
    let path = dir.path().join(&build.id).join("builddata/build.xml");
    let xml = std::fs::read_to_string(&path).unwrap();
    let edited = edit(&xml);
    assert_ne!(edited, xml);
    std::fs::write(&path, edited).unwrap();
    let served = Served::new(dir.path());
    (dir, served)
}

/// Nothing below `repos/` was asked for.
fn no_repository_read(served: &Served) {
    let requests = served.server().requests();
    assert!(
        !requests.iter().any(|r| r.path.contains("/repos/")),
        "{:?}",
        requests.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[test]
fn a_percent_encoded_gbs_repo_name_or_arch_is_refused_naming_build_xml() {
    let repo =
        |xml: &str| xml.replace("<repo>tizen-base</repo>", &format!("<repo>{ESCAPE}</repo>"));
    let arch = |xml: &str| xml.replace("<arch>ia32</arch>", "<arch>%2e%2e%2f</arch>");
    let mapping = format!("{MAPPING}      \"{ESCAPE}\": fedora/39\n");
    for (edit, name) in [
        (&repo as &dyn Fn(&str) -> String, ESCAPE),
        (&arch, "%2e%2e%2f"),
    ] {
        let (_dir, served) = hostile_tree(edit);
        let world = gbs_world(&served.latest(), &mapping, "");
        world.plan_refused(&["builddata/build.xml", name, "not a plain name", "`%`"]);
        no_repository_read(&served);
        assert!(world.stored().is_empty());
    }
}

#[test]
fn a_build_xml_with_two_ids_or_a_forged_id_is_refused() {
    let two = |xml: &str| xml.replace("</build>", "  <id>tizen_20990101.1</id>\n</build>");
    let forged = |xml: &str| {
        xml.replace(
            "<id>tizen_20260101.1</id>",
            "<id>B1&#27;[2K&#13;forged</id>",
        )
    };
    for (edit, says) in [
        (&two as &dyn Fn(&str) -> String, "two build ids"),
        (&forged, "not a build id"),
    ] {
        let (_dir, served) = hostile_tree(edit);
        let world = gbs_world(&served.latest(), MAPPING, "");
        let run = world.plan_refused(&["builddata/build.xml", says]);
        assert!(
            !run.stderr.contains('\u{1b}') && !run.stderr.contains('\r'),
            "{:?}",
            run.stderr
        );
        no_repository_read(&served);
    }
}

/// An rpm whose header names it `%2e%2e%2fetc`, stored under a harmless
/// file name: its location is safe, the name it would be uploaded as is not.
#[test]
fn an_rpm_name_that_is_an_escape_once_decoded_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("x86_64")).unwrap();
    std::fs::write(
        repo.join("x86_64/evil-1.0-1.x86_64.rpm"),
        simple_rpm(ESCAPE, "1.0", "1", "x86_64").unwrap(),
    )
    .unwrap();
    createrepo(&repo, &[]);
    let server = serve(&runtime, dir.path());
    let world = rpm_world(&format!("{}/repo", server.url()));
    world.plan_refused(&["primary", "package name", ESCAPE, "`%`"]);
    runtime.block_on(server.shutdown());
}

#[test]
fn a_debian_package_name_or_filename_that_is_an_escape_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (repo, server, world) = served_flat(&runtime, dir.path());
    let reindex = "&& rm -f Packages.gz Packages.xz Release && gzip -k -9 Packages && xz -k Packages \
                   && apt-ftparchive release . > Release";
    sh(
        &repo,
        &format!("sed -i 's|^Package: alpha$|Package: {ESCAPE}|' Packages {reindex}"),
    );
    world.plan_refused(&["Packages", "package name", ESCAPE, "`%`"]);
    sh(
        &repo,
        &format!(
            "sed -i 's|^Package: {ESCAPE}$|Package: alpha|; s|^Filename: ./amd64/alpha|Filename: {ESCAPE}/alpha|' Packages {reindex}"
        ),
    );
    world.plan_refused(&["Packages", "Filename", ESCAPE, "alpha_1.0-1_amd64.deb"]);
    runtime.block_on(server.shutdown());
}

fn createrepo(repo: &Path, args: &[&str]) {
    let output = Command::new("createrepo_c")
        .args(["--quiet", "--unique-md-filenames"])
        .args(args)
        .arg(repo)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `createrepo_c --checksum=md5` lists md5 for the packages and for
/// `primary` in repomd.xml; with `--repomd-checksum=sha256` only the
/// packages. Both are refused, naming the algorithm.
#[test]
fn md5_listed_for_primary_or_for_packages_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (args, file) in [
        (&["--checksum=md5"][..], "primary.xml"),
        (
            &["--checksum=md5", "--repomd-checksum=sha256"][..],
            "alpha-1.0-1.x86_64.rpm",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let repo = repository(dir.path(), &[]);
        std::fs::remove_dir_all(repo.join("repodata")).unwrap();
        createrepo(&repo, args);
        let server = serve(&runtime, dir.path());
        let world = rpm_world(&format!("{}/repo", server.url()));
        world.plan_refused(&[file, "\"md5\" checksum", "does not verify by"]);
        assert!(world.stored().is_empty());
        runtime.block_on(server.shutdown());
    }
}

/// `dists/bookworm/Release` that says it is bullseye (apt: "Conflicting
/// distribution") is refused naming both; one that says `Suite: bookworm`
/// with another codename, as `stable` does, is read.
#[test]
fn a_release_of_another_suite_is_refused_naming_both() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    write_debs(&archive.join("pool/main"));
    let release = |fields: &str| {
        format!(
            "mkdir -p dists/bookworm/main/binary-amd64 \
             && apt-ftparchive packages pool > dists/bookworm/main/binary-amd64/Packages \
             && apt-ftparchive {fields} release dists/bookworm > dists/bookworm/Release"
        )
    };
    sh(
        &archive,
        &release(
            "-o APT::FTPArchive::Release::Codename=bullseye -o APT::FTPArchive::Release::Suite=oldstable",
        ),
    );
    let server = runtime.block_on(pkgsync_sandbox::files::FileServer::start(dir.path()));
    let server = server.unwrap();
    let world = deb_world(&format!(
        "  - url: {}/archive\n    distro: debian/bookworm\n    suite: bookworm\n    components: [main]\n    architectures: [amd64]\n",
        server.url()
    ));
    world.plan_refused(&[
        "`Release`",
        "`Codename: bullseye`",
        "`Suite: oldstable`",
        "suite `bookworm`",
    ]);
    sh(
        &archive,
        &release(
            "-o APT::FTPArchive::Release::Codename=trixie -o APT::FTPArchive::Release::Suite=bookworm",
        ),
    );
    world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(0);
    runtime.block_on(server.shutdown());
}

/// `createrepo_c --baseurl` on another server (another port of loopback is
/// another host): without `allow_hosts` the plan is refused and that server
/// sees no request; with it, the plan shows the host beside each file and
/// every download goes there, none to the repository's own server.
#[test]
fn an_xml_base_on_another_host_needs_allow_hosts_and_is_shown_and_followed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (dir, other_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let other = serve(&runtime, other_dir.path());
    let base = format!("{}/mirror/", other.url());
    let repo = repository(dir.path(), &[&format!("--baseurl={base}")]);
    for arch in ["x86_64", "noarch"] {
        crate::rpmmd_source::copy_dir(
            &repo.join(arch),
            &other_dir.path().join("mirror").join(arch),
        );
    }
    let server = serve(&runtime, dir.path());
    let url = format!("{}/repo", server.url());
    let host = other.url().trim_start_matches("http://").to_string();
    let refused = rpm_world(&url);
    refused.plan_refused(&["another host", &host, "allow_hosts"]);
    assert!(other.requests().is_empty(), "{:?}", other.requests());

    let world = crate::rpmmd_source::world_with(&url, &format!("    allow_hosts: [\"{host}\"]\n"));
    let plan = world.plan_out("plan.json");
    let shown = world.pkgsync(&["show", plan.to_str().unwrap()]).expect(0);
    assert!(
        shown.stdout.contains(&format!("ANOTHER HOST `{host}`")),
        "{}",
        shown.stdout
    );
    let markdown = world
        .pkgsync(&["show", plan.to_str().unwrap(), "--format", "markdown"])
        .expect(0);
    assert!(
        markdown.stdout.contains("ANOTHER HOST"),
        "{}",
        markdown.stdout
    );
    world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);
    assert_eq!(world.stored().len(), 3);
    let rpms = |s: &pkgsync_sandbox::files::FileServer| {
        s.requests()
            .into_iter()
            .filter(|r| r.path.ends_with(".rpm"))
            .count()
    };
    assert_eq!((rpms(&server), rpms(&other)), (0, 3));
    runtime.block_on(server.shutdown());
    runtime.block_on(other.shutdown());
}
