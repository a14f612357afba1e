//! Published Debian archives as a source, end to end: flat repositories made by
//! the real dpkg-scanpackages and apt-ftparchive (plain, gzip, xz; `Filename:`
//! with and without `./`; a clearsigned `InRelease` made by gpg) and a suite
//! layout (`dists/<suite>/<component>/binary-<arch>/`), served over loopback
//! HTTP, planned and applied into the Packagecloud emulator.

use crate::support::World;
use crate::support::gpg::Gpg;
use crate::support::sh;
use pkgsync_sandbox::Seed;
use pkgsync_sandbox::demo::{DEMO_PC_REPO, DEMO_PC_TOKEN};
use pkgsync_sandbox::files::FileServer;
use pkgsync_sandbox::packages::simple_deb;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tools() {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/install-debian-packages.sh");
    let status = Command::new(script)
        .args(["apt-utils", "dpkg-dev", "xz-utils", "gnupg"])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "apt-utils, dpkg-dev, xz-utils and gnupg are needed"
    );
}

/// The debs every archive here holds: (subdirectory, name, arch).
const DEBS: [(&str, &str, &str); 3] = [
    ("amd64", "alpha", "amd64"),
    ("amd64", "beta", "amd64"),
    ("all", "gamma", "all"),
];

pub(crate) fn write_debs(dir: &Path) {
    for (sub, name, arch) in DEBS {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        let bytes = simple_deb(name, "1.0-1", arch).unwrap();
        std::fs::write(
            dir.join(sub).join(format!("{name}_1.0-1_{arch}.deb")),
            bytes,
        )
        .unwrap();
    }
}

/// A flat repository in `root/repo` as OBS publishes one: `Packages` (with
/// `./` when `dot`), its gzip and xz, and a `Release` listing them.
fn flat(root: &Path, dot: bool, keep_plain: bool) -> PathBuf {
    tools();
    let repo = root.join("repo");
    write_debs(&repo);
    // `.` gives `Filename: ./amd64/...`; a directory each gives `amd64/...`.
    let scan = if dot {
        "dpkg-scanpackages -m . 2>/dev/null"
    } else {
        "{ dpkg-scanpackages -m amd64; dpkg-scanpackages -m all; } 2>/dev/null"
    };
    sh(
        &repo,
        &format!(
            "{scan} > Packages \
             && gzip -k -9 Packages && xz -k Packages {drop} \
             && apt-ftparchive release . > Release",
            drop = if keep_plain { "" } else { "&& rm Packages" }
        ),
    );
    repo
}

pub(crate) fn world(entry: &str) -> World {
    let mut seed = Seed::empty();
    seed.packagecloud.token = Some(DEMO_PC_TOKEN.into());
    seed.packagecloud.repo(DEMO_PC_REPO);
    let world = World::with_seed(seed);
    let config = format!(
        "deb:\n{entry}\
packagecloud:\n  url: {pc}\n  repo: {DEMO_PC_REPO}\n  auth:\n    token: {DEMO_PC_TOKEN}\n\
sync:\n  mode: mirror\n  max_delete_percent: 100\n",
        pc = world.sandbox().packagecloud_url()
    );
    std::fs::write(&world.config, config).unwrap();
    world
}

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// plan → apply → plan: three uploads whose sha256s are the files' own, then
/// nothing left to do.
fn converges(world: &World, files: &Path) {
    let plan = world.plan_out("plan.json");
    let written = pkgsync::plan::file::read(&plan).unwrap();
    assert_eq!(written.format_version, "1.2");
    assert_eq!(written.summary.upload, 3, "{written:#?}");
    let [index] = &written.indexes[..] else {
        panic!("{:?}", written.indexes)
    };
    assert!(index.url.ends_with("Release"), "{}", index.url);
    assert!(
        index.digest.starts_with("sha256:") && index.revision.is_some(),
        "{index:?}"
    );
    let file_of = |filename: &str| {
        let (sub, ..) = DEBS
            .iter()
            .find(|(_, n, _)| filename.starts_with(n))
            .unwrap();
        files.join(sub).join(filename)
    };
    for action in &written.actions {
        let sha256 = action.source.as_ref().unwrap().sha256.as_deref();
        assert_eq!(sha256, Some(sha256_of(&file_of(&action.filename)).as_str()));
    }
    world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);
    let stored = world.stored();
    assert_eq!(stored.len(), 3, "{stored:?}");
    for (path, sha256) in &stored {
        let filename = path.rsplit('/').next().unwrap();
        assert!(path.starts_with("ubuntu/jammy/"), "{path}");
        assert_eq!(sha256, &sha256_of(&file_of(filename)), "{path}");
    }
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
}

#[test]
fn flat_repositories_sync_with_and_without_dot_slash_and_any_compression() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for (dot, keep_plain) in [(true, true), (false, false)] {
        let dir = tempfile::tempdir().unwrap();
        let repo = flat(dir.path(), dot, keep_plain);
        let server = runtime.block_on(FileServer::start(dir.path())).unwrap();
        let world = world(&format!(
            "  - url: {}/repo\n    distro: ubuntu/22.04\n",
            server.url()
        ));
        converges(&world, &repo);
        // The xz index is the one read (it is listed first in preference).
        let indexes: Vec<String> = server
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("/Packages"))
            .map(|r| r.path)
            .collect();
        assert!(
            !indexes.is_empty() && indexes.iter().all(|p| p.ends_with("Packages.xz")),
            "{indexes:?}"
        );
        runtime.block_on(server.shutdown());
    }
}

#[test]
fn a_clearsigned_in_release_is_read_for_its_message() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = flat(dir.path(), true, true);
    let gnupg = dir.path().join("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    sh(
        &repo,
        &format!(
            "export GNUPGHOME='{home}'; chmod 700 \"$GNUPGHOME\" \
             && gpg --batch --quiet --passphrase '' --quick-gen-key 'pkgsync test <test@example.org>' ed25519 sign never \
             && gpg --batch --quiet --clearsign -o InRelease Release && rm Release",
            home = gnupg.display()
        ),
    );
    let server = runtime.block_on(FileServer::start(dir.path())).unwrap();
    let world = world(&format!(
        "  - url: {}/repo\n    distro: ubuntu/jammy\n",
        server.url()
    ));
    converges(&world, &repo);
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/Release")),
        "InRelease was there: no Release asked for"
    );
    runtime.block_on(server.shutdown());
}

#[test]
fn a_suite_with_components_and_architectures_syncs() {
    tools();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let pool = archive.join("pool/main");
    write_debs(&pool);
    sh(
        &archive,
        "mkdir -p dists/jammy/main/binary-amd64 \
         && apt-ftparchive packages pool > dists/jammy/main/binary-amd64/Packages \
         && xz -k dists/jammy/main/binary-amd64/Packages \
         && apt-ftparchive -o APT::FTPArchive::Release::Suite=jammy release dists/jammy > dists/jammy/Release",
    );
    let server = runtime.block_on(FileServer::start(dir.path())).unwrap();
    let world = world(&format!(
        "  - url: {}/archive\n    distro: ubuntu/jammy\n    suite: jammy\n    components: [main]\n    architectures: [amd64]\n",
        server.url()
    ));
    converges(&world, &pool);
    runtime.block_on(server.shutdown());
}

/// A flat repository (`flat`, with `./` and every compression) in `dir`,
/// served over loopback, and a world that syncs it into `ubuntu/jammy`.
pub(crate) fn served_flat(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
) -> (PathBuf, FileServer, World) {
    let repo = flat(dir, true, true);
    let server = runtime.block_on(FileServer::start(dir)).unwrap();
    let world = world(&format!(
        "  - url: {}/repo\n    distro: ubuntu/jammy\n",
        server.url()
    ));
    (repo, server, world)
}

#[test]
fn an_index_that_does_not_match_its_release_is_refused_naming_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (repo, server, world) = served_flat(&runtime, dir.path());
    let xz = repo.join("Packages.xz");
    let mut bytes = std::fs::read(&xz).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0xff;
    std::fs::write(&xz, bytes).unwrap();
    world.plan_refused(&["Debian archive", "Packages.xz", "sha256"]);
    runtime.block_on(server.shutdown());
}

#[test]
fn a_package_file_name_that_could_leave_the_archive_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (repo, server, world) = served_flat(&runtime, dir.path());
    // `%2e%2e` is `..` once a server or a file system decodes it.
    for escape in ["%2e%2e/%2e%2e", "amd64/../..", "/etc"] {
        sh(
            &repo,
            &format!(
                "sed -i 's|^Filename: ./amd64/|Filename: {escape}/|' Packages \
                 && rm -f Packages.gz Packages.xz Release && gzip -k -9 Packages && xz -k Packages \
                 && apt-ftparchive release . > Release"
            ),
        );
        world.plan_refused(&[
            "Debian archive",
            "not a safe path below the archive",
            escape,
        ]);
        sh(
            &repo,
            &format!("sed -i 's|^Filename: {escape}/|Filename: ./amd64/|' Packages"),
        );
    }
    runtime.block_on(server.shutdown());
}

#[test]
fn signed_archives_verify_against_their_key_and_nothing_else() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = flat(dir.path(), true, true);
    let key = Gpg::new(dir.path(), "archive");
    let other = Gpg::new(dir.path(), "other");
    let server = runtime.block_on(FileServer::start(dir.path())).unwrap();
    let entry = |key: &Gpg| {
        format!(
            "  - url: {}/repo\n    distro: ubuntu/jammy\n    signed_by: {}\n",
            server.url(),
            key.public_key.display()
        )
    };
    let refused = |world: &World, says: &[&str]| {
        let run = world
            .pkgsync(&["plan", "--config", world.config()])
            .expect(1);
        for word in says {
            assert!(run.stderr.contains(word), "{word:?} in:\n{}", run.stderr);
        }
    };

    // Release + Release.gpg: verified; another key is refused.
    key.detach_sign(&repo.join("Release"));
    std::fs::rename(repo.join("Release.asc"), repo.join("Release.gpg")).unwrap();
    refused(
        &world(&entry(&other)),
        &["Debian archive", "Release.gpg", "no valid signature"],
    );
    let world_signed = world(&entry(&key));
    let plan = pkgsync::plan::file::read(&world_signed.plan_out("plan.json")).unwrap();
    assert_eq!(plan.config.deb[0].signed_by, vec![key.fingerprint.clone()]);

    // A Release changed after signing is refused.
    let release = std::fs::read_to_string(repo.join("Release")).unwrap();
    std::fs::write(repo.join("Release"), format!("Label: changed\n{release}")).unwrap();
    refused(&world(&entry(&key)), &["Release.gpg", "no valid signature"]);
    std::fs::write(repo.join("Release"), &release).unwrap();

    // InRelease, clearsigned: verified, and preferred over Release.
    key.clearsign(&repo.join("Release"), &repo.join("InRelease"));
    let world = world(&entry(&key));
    converges(&world, &repo);
    refused(
        &self::world(&entry(&other)),
        &["InRelease", "no valid signature"],
    );
    runtime.block_on(server.shutdown());
}

#[test]
fn package_and_arch_filters_select_what_is_planned_from_an_archive() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_, server, world) = served_flat(&runtime, dir.path());
    let planned = |filters: &str| {
        let text = std::fs::read_to_string(world.config()).unwrap();
        let additive = text.replace("mode: mirror", "mode: additive");
        let base = additive.split("filters:").next().unwrap().to_string();
        std::fs::write(world.config(), format!("{base}filters:\n{filters}")).unwrap();
        let plan = pkgsync::plan::file::read(&world.plan_out("plan.json")).unwrap();
        let mut files: Vec<String> = plan.actions.iter().map(|a| a.filename.clone()).collect();
        files.sort();
        (plan, files)
    };
    let (plan, files) = planned("  packages:\n    include: [alpha, gamma]\n");
    assert_eq!(files, ["alpha_1.0-1_amd64.deb", "gamma_1.0-1_all.deb"]);
    // The recorded filter is the one that was applied.
    let recorded = serde_json::to_string(&plan.config).unwrap();
    assert!(
        recorded.contains("alpha") && recorded.contains("gamma"),
        "{recorded}"
    );
    // An arch filter keeps arch-independent packages, which every arch installs.
    let (_, files) = planned("  architectures:\n    include: [arm64]\n");
    assert_eq!(files, ["gamma_1.0-1_all.deb"]);
    let (_, files) = planned("  architectures:\n    exclude: [all]\n");
    assert_eq!(files, ["alpha_1.0-1_amd64.deb", "beta_1.0-1_amd64.deb"]);
    runtime.block_on(server.shutdown());
}

#[test]
fn a_repository_filter_that_cannot_apply_to_an_archive_is_an_error() {
    let world = world("  - url: http://127.0.0.1:9/repo\n    distro: ubuntu/jammy\n");
    let text = std::fs::read_to_string(world.config()).unwrap();
    std::fs::write(
        world.config(),
        format!("{text}filters:\n  repositories:\n    include: [xUbuntu_22.04]\n"),
    )
    .unwrap();
    let run = world.plan_refused(&["filters.repositories", "`deb`", "no effect"]);
    assert!(
        !run.stderr.contains("127.0.0.1:9"),
        "refused before any read"
    );
}

/// `repo/Packages` with `edit` applied to its bytes, recompressed, and the
/// Release made again, so that the archive is consistent.
fn edit_packages(repo: &Path, edit: impl Fn(&[u8]) -> Vec<u8>) {
    let plain = repo.join("Packages");
    std::fs::write(&plain, edit(&std::fs::read(&plain).unwrap())).unwrap();
    sh(
        repo,
        "rm -f Packages.gz Packages.xz Release && gzip -k -9 Packages && xz -k Packages \
         && apt-ftparchive release . > Release",
    );
}

fn replace_bytes(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = haystack;
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[test]
fn a_latin1_maintainer_is_read_and_a_field_pkgsync_needs_must_be_text() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (repo, server, world) = served_flat(&runtime, dir.path());
    // José in Latin-1, as old archives have it.
    edit_packages(&repo, |bytes| {
        replace_bytes(bytes, b"\nMaintainer: ", b"\nMaintainer: Jos\xe9 ")
    });
    let plan = pkgsync::plan::file::read(&world.plan_out("plan.json")).unwrap();
    assert_eq!(plan.summary.upload, 3);

    edit_packages(&repo, |bytes| {
        replace_bytes(
            bytes,
            b"Filename: ./amd64/beta",
            b"Filename: ./amd64/\xffbeta",
        )
    });
    let run = world.plan_refused(&["Packages.xz", "`beta`", "`Filename` is not valid UTF-8"]);
    assert!(!run.stderr.contains("\u{fffd}"), "{}", run.stderr);
    runtime.block_on(server.shutdown());
}
