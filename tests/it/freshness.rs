//! Freshness and by-hash of Debian archives, as apt judges them: a Release
//! past its `Valid-Until` or dated in the future is refused (with the clock
//! fixed by `PKGSYNC_NOW`, never the wall clock); apply refuses an archive
//! older than planned (a rollback or replay of a validly signed Release);
//! `Acquire-By-Hash` is read from `by-hash/SHA256/`. Archives made by the
//! real apt-ftparchive and gpg, and Debian's own bookworm-updates.

use crate::support::gpg::Gpg;
use crate::support::sh;
use crate::support::{World, install_tools, world_of};
use chrono::{DateTime, TimeDelta, Utc};
use pkgsync_sandbox::files::FileServer;
use pkgsync_sandbox::packages::simple_deb;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// A flat archive in `root/repo`: `alpha` and `beta` at `version`, their
/// `Packages.xz`, and a `Release` by apt-ftparchive with `options`.
fn archive(root: &Path, version: &str, options: &str) -> PathBuf {
    install_tools(&["apt-utils", "dpkg-dev", "xz-utils", "gnupg"]);
    let repo = root.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    for name in ["alpha", "beta"] {
        let deb = simple_deb(name, version, "amd64").unwrap();
        std::fs::write(repo.join(format!("{name}_{version}_amd64.deb")), deb).unwrap();
    }
    sh(
        &repo,
        &format!(
            "dpkg-scanpackages -m . 2>/dev/null > Packages && rm -f Packages.xz && xz Packages \
             && apt-ftparchive {options} release . > Release"
        ),
    );
    repo
}

/// `InRelease` in `repo`: its `Release` with `edit` applied, clearsigned.
fn sign(gpg: &Gpg, repo: &Path, edit: impl Fn(String) -> String) {
    let release = repo.join("Release");
    let text = edit(std::fs::read_to_string(&release).unwrap());
    std::fs::write(&release, text).unwrap();
    gpg.clearsign(&release, &repo.join("InRelease"));
    std::fs::remove_file(release).unwrap();
}

/// A field of the Release in `repo` (`InRelease`'s message), as a time.
fn field(repo: &Path, name: &str) -> DateTime<Utc> {
    let text = std::fs::read_to_string(repo.join("InRelease")).unwrap();
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("{name} in {text}"));
    let value = value.replace(" UTC", " +0000");
    DateTime::parse_from_rfc2822(&value).unwrap().into()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

struct Served {
    runtime: tokio::runtime::Runtime,
    server: Option<FileServer>,
}

impl Served {
    fn start(root: &Path) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(FileServer::start(root)).unwrap();
        Self {
            runtime,
            server: Some(server),
        }
    }

    fn server(&self) -> &FileServer {
        self.server.as_ref().unwrap()
    }

    fn paths(&self) -> Vec<String> {
        self.server()
            .requests()
            .into_iter()
            .map(|r| r.path)
            .collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

fn signed_world(served: &Served, gpg: &Gpg, more: &str) -> World {
    world_of(&format!(
        "deb:\n  - url: {}/repo\n    distro: ubuntu/jammy\n    signed_by: {}\n{more}",
        served.server().url(),
        gpg.public_key.display()
    ))
}

fn plan_at(world: &World, now: &str, out: &Path) -> crate::support::Run {
    world.pkgsync_with(
        &[
            "plan",
            "--config",
            world.config(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("PKGSYNC_NOW", now)],
    )
}

#[test]
fn freshness_an_expired_release_is_refused_and_check_valid_until_false_reads_it_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let repo = archive(
        dir.path(),
        "1.0-1",
        "-o APT::FTPArchive::Release::ValidTime=3600",
    );
    let gpg = Gpg::new(dir.path(), "archive");
    sign(&gpg, &repo, |t| t);
    let valid_until = field(&repo, "Valid-Until");
    let served = Served::start(dir.path());
    let world = signed_world(&served, &gpg, "");
    let out = world.path("plan.json");

    // Inside the window: planned, and the plan records both dates.
    let inside = rfc3339(valid_until - TimeDelta::minutes(30));
    let run = plan_at(&world, &inside, &out).expect(0);
    assert!(
        run.stderr.contains("PKGSYNC_NOW fixes the clock at"),
        "{}",
        run.stderr
    );
    let plan = pkgsync::plan::file::read(&out).unwrap();
    assert_eq!(plan.format_version, "1.5");
    let index = &plan.indexes[0];
    assert!(
        index.revision.is_some() && index.valid_until.is_some(),
        "{index:?}"
    );

    // A day later the same Release has expired.
    let later = rfc3339(valid_until + TimeDelta::days(1));
    let run = plan_at(&world, &later, &world.path("late.json")).expect(1);
    let shown = valid_until.format("%a, %d %b %Y %H:%M:%S").to_string();
    for word in [
        "InRelease",
        "expired on",
        shown.as_str(),
        "check_valid_until",
    ] {
        assert!(run.stderr.contains(word), "{word:?} in:\n{}", run.stderr);
    }
    assert!(!world.path("late.json").exists());

    // The switch reads it, and says so on every command that loads the config.
    world.edit_config(
        "    signed_by:",
        "    check_valid_until: false\n    signed_by:",
    );
    let run = plan_at(&world, &later, &world.path("late.json")).expect(0);
    assert!(
        run.stderr.contains("check_valid_until: false"),
        "{}",
        run.stderr
    );
    let late = world.path("late.json");
    let run = world
        .pkgsync_with(
            &["apply", late.to_str().unwrap(), "--config", world.config()],
            &[("PKGSYNC_NOW", &later)],
        )
        .expect(0);
    assert!(
        run.stderr.contains("check_valid_until: false"),
        "{}",
        run.stderr
    );
    assert_eq!(world.stored().len(), 2);
}

#[test]
fn freshness_a_release_dated_in_the_future_is_refused_beyond_ten_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let repo = archive(dir.path(), "1.0-1", "");
    let gpg = Gpg::new(dir.path(), "archive");
    sign(&gpg, &repo, |t| t);
    let date = field(&repo, "Date");
    let served = Served::start(dir.path());
    let world = signed_world(&served, &gpg, "");

    let skewed = rfc3339(date - TimeDelta::minutes(5));
    plan_at(&world, &skewed, &world.path("skewed.json")).expect(0);
    let before = rfc3339(date - TimeDelta::hours(1));
    let run = plan_at(&world, &before, &world.path("early.json")).expect(1);
    for word in ["InRelease", "is in the future", "10 minutes"] {
        assert!(run.stderr.contains(word), "{word:?} in:\n{}", run.stderr);
    }
    // A clock that is not one is an error naming the variable.
    let run = plan_at(&world, "yesterday", &world.path("bad.json")).expect(1);
    assert!(
        run.stderr.contains("PKGSYNC_NOW") && run.stderr.contains("RFC 3339"),
        "{}",
        run.stderr
    );
}

#[test]
fn freshness_apply_refuses_an_older_validly_signed_release_and_uploads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = archive(dir.path(), "1.0-1", "");
    let release = std::fs::read_to_string(repo.join("Release")).unwrap();
    let gpg = Gpg::new(dir.path(), "archive");
    sign(&gpg, &repo, |t| t);
    let date = field(&repo, "Date");
    let served = Served::start(dir.path());
    let world = signed_world(&served, &gpg, "");
    let now = rfc3339(date + TimeDelta::minutes(1));
    let out = world.path("plan.json");
    plan_at(&world, &now, &out).expect(0);

    // The mirror serves yesterday's Release, the same packages, signed by the
    // same key: as a replay would.
    let older = date - TimeDelta::days(1);
    let older_date = older.format("%a, %d %b %Y %H:%M:%S +0000").to_string();
    std::fs::write(repo.join("Release"), &release).unwrap();
    sign(&gpg, &repo, |text| {
        text.lines()
            .map(|l| match l.starts_with("Date: ") {
                true => format!("Date: {older_date}"),
                false => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    });
    let run = world
        .pkgsync_with(
            &["apply", out.to_str().unwrap(), "--config", world.config()],
            &[("PKGSYNC_NOW", &now)],
        )
        .expect(4);
    let planned_date = date.format("%a, %d %b %Y %H:%M:%S").to_string();
    for word in [
        "older than planned",
        older_date.as_str(),
        planned_date.as_str(),
    ] {
        assert!(run.stderr.contains(word), "{word:?} in:\n{}", run.stderr);
    }
    let posts: Vec<_> = world
        .sandbox()
        .packagecloud()
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(posts.is_empty(), "{posts:?}");
    assert!(world.stored().is_empty());
}

/// A mirror half-way through an update: the plain `Packages.xz` already holds
/// the next version (2.0), `by-hash/SHA256/` the one the Release lists (1.0).
fn mid_update(root: &Path, by_hash_line: bool) -> PathBuf {
    let options = match by_hash_line {
        true => "-o APT::FTPArchive::Release::Acquire-By-Hash=yes",
        false => "",
    };
    let repo = archive(root, "1.0-1", options);
    let listed = std::fs::read(repo.join("Packages.xz")).unwrap();
    let hashed = repo.join("by-hash/SHA256");
    std::fs::create_dir_all(&hashed).unwrap();
    std::fs::write(hashed.join(hex::encode(Sha256::digest(&listed))), listed).unwrap();
    let release = std::fs::read_to_string(repo.join("Release")).unwrap();
    archive(root, "2.0-1", "");
    std::fs::write(repo.join("Release"), release).unwrap();
    repo
}

#[test]
fn freshness_by_hash_is_read_first_during_a_mirror_update_and_only_when_the_release_says_so() {
    let dir = tempfile::tempdir().unwrap();
    mid_update(dir.path(), true);
    let served = Served::start(dir.path());
    let world = world_of(&format!(
        "deb:\n  - url: {}/repo\n    distro: ubuntu/jammy\n",
        served.server().url()
    ));
    let plan = pkgsync::plan::file::read(&world.plan_out("plan.json")).unwrap();
    let mut files: Vec<&str> = plan.actions.iter().map(|a| a.filename.as_str()).collect();
    files.sort();
    assert_eq!(files, ["alpha_1.0-1_amd64.deb", "beta_1.0-1_amd64.deb"]);
    let paths = served.paths();
    assert!(
        paths.iter().any(|p| p.contains("/repo/by-hash/SHA256/"))
            && !paths.iter().any(|p| p.ends_with("/repo/Packages.xz")),
        "{paths:?}"
    );
    drop(served);

    // Without `Acquire-By-Hash` the plain path alone is read, and it no
    // longer matches the Release (its size is the first to differ).
    let dir = tempfile::tempdir().unwrap();
    mid_update(dir.path(), false);
    let served = Served::start(dir.path());
    let world = world_of(&format!(
        "deb:\n  - url: {}/repo\n    distro: ubuntu/jammy\n",
        served.server().url()
    ));
    world.plan_refused(&["`Packages.xz`", "are listed"]);
    let paths = served.paths();
    assert!(!paths.iter().any(|p| p.contains("by-hash")), "{paths:?}");
}

/// Debian's own bookworm-updates as apt fetched it (`InRelease`, signed by
/// Debian; the amd64 `Packages` apt kept, served uncompressed where the
/// Release lists it), verified with Debian's keys.
#[test]
fn freshness_the_real_debian_bookworm_updates_archive_plans_with_debian_keys() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deb/real");
    let served = Served::start(&fixture);
    let world = world_of(&format!(
        "deb:\n  - url: {}\n    distro: debian/bookworm\n    suite: bookworm-updates\n    \
         components: [main]\n    architectures: [amd64]\n    signed_by: {}\n",
        served.server().url(),
        fixture.join("debian-archive-keyring.asc").display()
    ));
    let repo = fixture.join("dists/bookworm-updates");
    let date = field(&repo, "Date");
    let out = world.path("plan.json");
    plan_at(&world, &rfc3339(date + TimeDelta::hours(1)), &out).expect(0);
    let plan = pkgsync::plan::file::read(&out).unwrap();
    let packages = std::fs::read_to_string(repo.join("main/binary-amd64/Packages")).unwrap();
    let stanzas = packages.matches("\nPackage: ").count() + 1;
    assert_eq!(plan.summary.upload, stanzas);
    assert!(
        plan.actions
            .iter()
            .any(|a| a.filename.starts_with("openssh-client_")
                && a.distro_version == "debian/bookworm"),
        "{:?}",
        plan.actions.iter().map(|a| &a.filename).collect::<Vec<_>>()
    );
    assert_eq!(
        plan.indexes[0].revision.as_deref(),
        Some("Sun, 06 Dec 2026 02:14:57 UTC")
    );
    // By hash first (the Release says `Acquire-By-Hash: yes`), xz first; this
    // copy has only the plain index at its plain path.
    let paths = served.paths();
    let index = |p: &String| p.contains("/main/binary-amd64/");
    let asked: Vec<&String> = paths.iter().filter(|p| index(p)).collect();
    assert!(asked[0].contains("/by-hash/SHA256/"), "{asked:?}");
    assert!(
        asked
            .last()
            .unwrap()
            .ends_with("/main/binary-amd64/Packages"),
        "{asked:?}"
    );

    // The same archive a day before its Date: refused as from the future.
    let run = plan_at(&world, &rfc3339(date - TimeDelta::days(1)), &out).expect(1);
    assert!(run.stderr.contains("is in the future"), "{}", run.stderr);
}
