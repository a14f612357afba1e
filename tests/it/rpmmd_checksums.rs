//! What an rpm-md repository's checksums and its download server can do to a
//! sync: repositories that list sha1 or sha512 instead of sha256 (createrepo_c
//! `--checksum`), or one that lists an algorithm pkgsync does not verify by;
//! and a redirector that sends a download to a mirror still serving an older
//! file under the same name.

use crate::rpmmd_source::{copy_dir, repository, serve, sha256_of, world};
use pkgsync_sandbox::faults::{Fault, FaultRule};
use sha1::Sha1;
use sha2::{Digest, Sha512};
use std::path::Path;

fn sha512_of(path: &Path) -> String {
    hex::encode(Sha512::digest(std::fs::read(path).unwrap()))
}

fn sha1_of(path: &Path) -> String {
    hex::encode(Sha1::digest(std::fs::read(path).unwrap()))
}

fn arch_of(filename: &str) -> &'static str {
    if filename.contains("noarch") {
        "noarch"
    } else {
        "x86_64"
    }
}

/// The plan records the checksum the repository lists (format 1.4, no
/// sha256 made up); apply verifies every byte by it and the upload's answer
/// by the sha256 it computed; the next plan has nothing to do.
#[test]
fn sha1_and_sha512_repositories_are_recorded_as_such_and_verified_by_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for algorithm in ["sha512", "sha1"] {
        let dir = tempfile::tempdir().unwrap();
        let repo = repository(dir.path(), &[&format!("--checksum={algorithm}")]);
        let repomd = std::fs::read_to_string(repo.join("repodata/repomd.xml")).unwrap();
        assert!(
            repomd.contains(&format!("<checksum type=\"{algorithm}\">")),
            "{repomd}"
        );
        let server = serve(&runtime, dir.path());
        let world = world(&format!("{}/repo", server.url()));
        let plan_path = world.plan_out("plan.json");
        let plan = pkgsync::plan::file::read(&plan_path).unwrap();
        assert_eq!(plan.format_version, "1.4", "{algorithm}");
        assert_eq!(plan.summary.upload, 3, "{algorithm}");
        for action in &plan.actions {
            let source = action.source.as_ref().unwrap();
            let file = repo.join(arch_of(&action.filename)).join(&action.filename);
            let (listed, own) = match algorithm {
                "sha512" => (&source.sha512, sha512_of(&file)),
                _ => (&source.sha1, sha1_of(&file)),
            };
            assert_eq!(listed.as_deref(), Some(own.as_str()), "{algorithm}");
            assert_eq!(source.sha256, None, "{algorithm}: no sha256 is listed");
        }
        world
            .pkgsync(&[
                "apply",
                plan_path.to_str().unwrap(),
                "--config",
                world.config(),
            ])
            .expect(0);
        let stored = world.stored();
        assert_eq!(stored.len(), 3, "{algorithm}");
        for (path, sha256) in &stored {
            let filename = path.rsplit('/').next().unwrap();
            assert_eq!(
                sha256,
                &sha256_of(&repo.join(arch_of(filename)).join(filename))
            );
        }
        world
            .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
            .expect(0);
        runtime.block_on(server.shutdown());
    }
}

/// A file whose bytes no longer have the listed sha512 is not uploaded, and
/// the message names the file and the algorithm.
#[test]
fn a_download_that_does_not_have_the_listed_sha512_is_not_uploaded() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path(), &["--checksum=sha512"]);
    let server = serve(&runtime, dir.path());
    let world = world(&format!("{}/repo", server.url()));
    let plan = world.plan_out("plan.json");
    flip_last_byte(&repo.join("x86_64/alpha-1.0-1.x86_64.rpm"));
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(5);
    assert!(
        run.stderr.contains("alpha-1.0-1.x86_64.rpm") && run.stderr.contains("sha512"),
        "{}",
        run.stderr
    );
    assert!(!world.stored().iter().any(|(p, _)| p.contains("alpha")));
    runtime.block_on(server.shutdown());
}

/// sha384 is a checksum pkgsync does not verify by: the plan fails naming
/// the repository, the file and the algorithm, before anything is uploaded.
#[test]
fn a_repository_listing_an_algorithm_pkgsync_does_not_verify_by_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    repository(dir.path(), &["--checksum=sha384"]);
    let server = serve(&runtime, dir.path());
    let world = world(&format!("{}/repo", server.url()));
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(1);
    assert!(
        run.stderr.contains(server.url()) && run.stderr.contains("sha384"),
        "{}",
        run.stderr
    );
    assert!(world.stored().is_empty());
    runtime.block_on(server.shutdown());
}

fn flip_last_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let n = bytes.len() - 1;
    bytes[n] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// A mirror that serves an older `alpha` under the same name (same size,
/// other bytes), and the origin's download of `alpha` redirected to it for
/// the first `times` requests.
struct Lagging {
    runtime: tokio::runtime::Runtime,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    repo: std::path::PathBuf,
    origin: pkgsync_sandbox::files::FileServer,
    mirror: pkgsync_sandbox::files::FileServer,
}

const ALPHA: &str = "alpha-1.0-1.x86_64.rpm";

impl Lagging {
    fn new(times: usize) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (dir, mirror_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let repo = repository(dir.path(), &[]);
        let stale = mirror_dir.path().join("repo/x86_64");
        copy_dir(&repo.join("x86_64"), &stale);
        flip_last_byte(&stale.join(ALPHA));
        let origin = serve(&runtime, dir.path());
        let mirror = serve(&runtime, mirror_dir.path());
        let redirect = Fault::Redirect {
            base: mirror.url().to_string(),
        };
        origin.set_faults(vec![
            FaultRule::new(ALPHA, redirect).method("GET").times(times),
        ]);
        Self {
            runtime,
            _dirs: (dir, mirror_dir),
            repo,
            origin,
            mirror,
        }
    }

    fn requests_for_alpha(server: &pkgsync_sandbox::files::FileServer) -> usize {
        server
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(ALPHA))
            .count()
    }

    fn shutdown(self) {
        self.runtime.block_on(self.origin.shutdown());
        self.runtime.block_on(self.mirror.shutdown());
    }
}

/// The redirect is followed; the mirror's bytes do not have the listed
/// sha256, so the file is fetched once more from the origin, which serves
/// it; the good file is uploaded and the stale one never is.
#[test]
fn a_lagging_mirror_is_passed_over_for_the_origin() {
    let lagging = Lagging::new(1);
    let world = world(&format!("{}/repo", lagging.origin.url()));
    let plan = world.plan_out("plan.json");
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);
    assert!(
        run.stderr.contains("fetching it again from its origin")
            && run
                .stderr
                .contains(lagging.mirror.url().trim_start_matches("http://")),
        "{}",
        run.stderr
    );
    assert_eq!(Lagging::requests_for_alpha(&lagging.mirror), 1);
    assert_eq!(Lagging::requests_for_alpha(&lagging.origin), 2);
    let stored = world.stored();
    let alpha = stored.iter().find(|(p, _)| p.ends_with(ALPHA)).unwrap();
    assert_eq!(alpha.1, sha256_of(&lagging.repo.join("x86_64").join(ALPHA)));
    assert_eq!(stored.len(), 3);
    lagging.shutdown();
}

/// An origin that sends the download to the same lagging mirror again is not
/// followed there a second time: the file fails, naming the mirror, and is
/// not uploaded; the others are.
#[test]
fn an_origin_that_only_sends_to_the_lagging_mirror_fails_the_file() {
    let lagging = Lagging::new(usize::MAX);
    let world = world(&format!("{}/repo", lagging.origin.url()));
    let plan = world.plan_out("plan.json");
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(5);
    let mirror = lagging.mirror.url().trim_start_matches("http://");
    assert!(
        run.stderr.contains(ALPHA)
            && run.stderr.contains(mirror)
            && run
                .stderr
                .contains("its origin sends it to that mirror again"),
        "{}",
        run.stderr
    );
    assert_eq!(Lagging::requests_for_alpha(&lagging.mirror), 1, "not twice");
    let stored = world.stored();
    assert!(
        !stored.iter().any(|(p, _)| p.ends_with(ALPHA)),
        "{stored:?}"
    );
    assert_eq!(stored.len(), 2);
    lagging.shutdown();
}
