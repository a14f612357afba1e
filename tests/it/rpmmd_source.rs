//! Published rpm-md repositories as a source, end to end: repositories made by
//! the real createrepo_c (gzip, xz, zstd recompressed, with `--location-prefix`
//! and `--baseurl`), served over loopback HTTP, planned and applied into the
//! Packagecloud emulator; and the faults a published repository can have.

use crate::support::World;
use crate::support::gpg::Gpg;
use pkgsync_sandbox::files::FileServer;
use pkgsync_sandbox::packages::simple_rpm;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tools() {
    crate::support::install_tools(&["createrepo-c", "zstd", "gnupg"]);
}

/// A directory `repo/` with real rpms (some in subdirectories) and the
/// repodata createrepo_c makes with `args`.
pub(crate) fn repository(root: &Path, args: &[&str]) -> PathBuf {
    tools();
    let repo = root.join("repo");
    std::fs::create_dir_all(repo.join("x86_64")).unwrap();
    std::fs::create_dir_all(repo.join("noarch")).unwrap();
    for (name, arch) in [("alpha", "x86_64"), ("beta", "x86_64"), ("gamma", "noarch")] {
        let bytes = simple_rpm(name, "1.0", "1", arch).unwrap();
        std::fs::write(
            repo.join(arch).join(format!("{name}-1.0-1.{arch}.rpm")),
            bytes,
        )
        .unwrap();
    }
    let output = Command::new("createrepo_c")
        .args(["--quiet", "--unique-md-filenames", "--checksum=sha256"])
        .args(args)
        .arg(&repo)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    repo
}

/// The Packagecloud emulator (empty demo repository) and a config that syncs
/// the repository at `url` into `fedora/39` in mirror mode.
pub(crate) fn world(url: &str) -> World {
    world_with(url, "")
}

/// Like [`world`], with more keys for the repository's entry.
pub(crate) fn world_with(url: &str, entry: &str) -> World {
    crate::support::world_of(&format!(
        "rpm-md:\n  - url: {url}\n    distro: fedora/39\n{entry}"
    ))
}

pub(crate) fn serve(runtime: &tokio::runtime::Runtime, dir: &Path) -> FileServer {
    runtime
        .block_on(FileServer::start(dir.to_path_buf()))
        .unwrap()
}

pub(crate) fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// plan → apply → plan: three uploads whose sha256s are the files' own, then
/// nothing left to do.
fn converges(world: &World, repo: &Path) {
    let plan = world.plan_out("plan.json");
    let written = pkgsync::plan::file::read(&plan).unwrap();
    assert_eq!(written.format_version, "1.2");
    assert_eq!(written.summary.upload, 3, "{written:#?}");
    // The plan names the index it was made from, by digest and revision.
    let repomd = std::fs::read_to_string(repo.join("repodata/repomd.xml")).unwrap();
    let [index] = &written.indexes[..] else {
        panic!("{:?}", written.indexes)
    };
    assert!(index.url.ends_with("/repodata/repomd.xml"), "{}", index.url);
    assert_eq!(
        index.digest,
        format!("sha256:{}", sha256_of(&repo.join("repodata/repomd.xml")))
    );
    let revision = index.revision.as_deref().unwrap();
    assert!(
        repomd.contains(&format!("<revision>{revision}</revision>")),
        "{repomd}"
    );
    for action in &written.actions {
        let source = action.source.as_ref().unwrap();
        let arch = if action.filename.contains("noarch") {
            "noarch"
        } else {
            "x86_64"
        };
        let file = repo.join(arch).join(&action.filename);
        assert_eq!(source.sha256.as_deref(), Some(sha256_of(&file).as_str()));
    }
    world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(0);
    let stored = world.stored();
    assert_eq!(stored.len(), 3);
    for (path, sha256) in &stored {
        let filename = path.rsplit('/').next().unwrap();
        let arch = if filename.contains("noarch") {
            "noarch"
        } else {
            "x86_64"
        };
        assert_eq!(
            sha256,
            &sha256_of(&repo.join(arch).join(filename)),
            "{path}"
        );
    }
    let again = world.pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"]);
    again.expect(0);
}

#[test]
fn a_gzip_repository_made_by_createrepo_c_syncs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path(), &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = serve(&runtime, dir.path());
    let world = world(&format!("{}/repo", server.url()));
    converges(&world, &repo);
    // Two requests per plan (repomd, primary), two more at apply, and the files.
    let metadata = server
        .requests()
        .iter()
        .filter(|r| r.path.contains("/repodata/"))
        .count();
    assert_eq!(metadata, 6, "{:?}", server.requests());
    runtime.block_on(server.shutdown());
}

/// `pkgsync check` reads the repository as a plan would, and names it when
/// it cannot.
#[test]
fn check_reads_the_repository_and_names_it_when_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    repository(dir.path(), &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = serve(&runtime, dir.path());
    let world = world(&format!("{}/repo", server.url()));
    let run = world
        .pkgsync(&["check", "--config", world.config()])
        .expect(0);
    assert!(
        run.stdout
            .contains("ok    the rpm-md repositories are read as a plan reads them"),
        "{}",
        run.stdout
    );
    std::fs::remove_file(dir.path().join("repo/repodata/repomd.xml")).unwrap();
    let run = world
        .pkgsync(&["check", "--config", world.config()])
        .expect(1);
    assert!(
        run.stdout
            .contains("FAIL  the rpm-md repositories: rpm-md repository")
            && run.stdout.contains("repodata/repomd.xml"),
        "{}",
        run.stdout
    );
    runtime.block_on(server.shutdown());
}

#[test]
fn xz_and_zstd_metadata_location_prefixes_and_xml_base_are_read() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for case in ["xz", "zstd", "location-prefix", "xml:base"] {
        let dir = tempfile::tempdir().unwrap();
        // The server starts first: an xml:base names its URL.
        let server = serve(&runtime, dir.path());
        let base = format!("{}/elsewhere/", server.url());
        let args: Vec<String> = match case {
            "xz" => vec!["--general-compress-type=xz".into()],
            "location-prefix" => vec!["--location-prefix=mirror/".into()],
            "xml:base" => vec![format!("--baseurl={base}")],
            _ => vec![],
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let repo = repository(dir.path(), &args);
        let repomd = || std::fs::read_to_string(repo.join("repodata/repomd.xml")).unwrap();
        match case {
            "xz" => assert!(repomd().contains("-primary.xml.xz"), "{}", repomd()),
            "zstd" => {
                recompress_primary_with_zstd(&repo);
                assert!(repomd().contains("primary.xml.zst"), "{}", repomd());
            }
            // The locations name another directory: serve the files there too.
            "location-prefix" => {
                for arch in ["x86_64", "noarch"] {
                    copy_dir(&repo.join(arch), &repo.join("mirror").join(arch));
                }
            }
            _ => {
                for arch in ["x86_64", "noarch"] {
                    copy_dir(&repo.join(arch), &dir.path().join("elsewhere").join(arch));
                }
            }
        }
        let world = world(&format!("{}/repo", server.url()));
        converges(&world, &repo);
        let downloads: Vec<String> = server
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with(".rpm"))
            .map(|r| r.path)
            .collect();
        let expected_dir = match case {
            "location-prefix" => "/repo/mirror/",
            "xml:base" => "/elsewhere/",
            _ => "/repo/",
        };
        assert!(
            downloads.len() == 3 && downloads.iter().all(|p| p.starts_with(expected_dir)),
            "{case}: {downloads:?}"
        );
        runtime.block_on(server.shutdown());
    }
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Debian's createrepo_c 0.17 has no zstd: recompress primary with the zstd
/// tool and rewrite repomd.xml's location, checksum and size for it.
fn recompress_primary_with_zstd(repo: &Path) {
    let repodata = repo.join("repodata");
    let repomd_path = repodata.join("repomd.xml");
    let repomd = std::fs::read_to_string(&repomd_path).unwrap();
    let gz = std::fs::read_dir(&repodata)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with("-primary.xml.gz"))
        .unwrap();
    let xml = repodata.join("primary.xml");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gzip -dc '{gz}' > '{xml}' && zstd -q -f '{xml}' -o '{xml}.zst'",
            gz = repodata.join(&gz).display(),
            xml = xml.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let zst = repodata.join("primary.xml.zst");
    let old_sha = gz.split('-').next().unwrap();
    let old_size = std::fs::metadata(repodata.join(&gz)).unwrap().len();
    let new_size = std::fs::metadata(&zst).unwrap().len();
    let rewritten = repomd
        .replace(&format!("repodata/{gz}"), "repodata/primary.xml.zst")
        .replacen(old_sha, &sha256_of(&zst), 1)
        .replacen(
            &format!("<size>{old_size}</size>"),
            &format!("<size>{new_size}</size>"),
            1,
        );
    assert!(rewritten.contains("primary.xml.zst"));
    std::fs::remove_file(repodata.join(&gz)).unwrap();
    std::fs::write(&repomd_path, rewritten).unwrap();
}

/// A plan fails naming the repository and the file; nothing is uploaded.
#[test]
fn a_primary_that_does_not_match_repomd_or_is_cut_is_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path(), &[]);
    let server = serve(&runtime, dir.path());
    let world = world(&format!("{}/repo", server.url()));
    let repodata = repo.join("repodata");
    let primary = std::fs::read_dir(&repodata)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-primary.xml.gz"))
        .unwrap();
    let good = std::fs::read(&primary).unwrap();

    // One byte changed: the checksum repomd gives no longer matches.
    let mut bad = good.clone();
    let last = bad.len() - 10;
    bad[last] ^= 0xff;
    std::fs::write(&primary, &bad).unwrap();
    world.plan_refused(&["rpm-md repository", "-primary.xml.gz", "sha256"]);

    // Cut short: the size no longer matches.
    std::fs::write(&primary, &good[..good.len() / 2]).unwrap();
    world.plan_refused(&["-primary.xml.gz", "bytes"]);

    // Well-formed gzip of a cut primary, with repomd rewritten to match it:
    // the parser sees the missing end.
    let xml = flate2::read::MultiGzDecoder::new(&good[..]);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut { xml }, &mut text).unwrap();
    let cut = &text[..text.len() - 200];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, cut.as_bytes()).unwrap();
    let cut_gz = gz.finish().unwrap();
    std::fs::write(&primary, &cut_gz).unwrap();
    let repomd_path = repodata.join("repomd.xml");
    let repomd = std::fs::read_to_string(&repomd_path).unwrap();
    let old_sha = primary
        .file_name()
        .unwrap()
        .to_string_lossy()
        .split('-')
        .next()
        .unwrap()
        .to_string();
    let new_sha = hex::encode(Sha256::digest(&cut_gz));
    let repomd = repomd.replacen(&old_sha, &new_sha, 2).replacen(
        &format!("<size>{}</size>", good.len()),
        &format!("<size>{}</size>", cut_gz.len()),
        1,
    );
    std::fs::write(&repomd_path, repomd).unwrap();
    std::fs::rename(&primary, repodata.join(format!("{new_sha}-primary.xml.gz"))).unwrap();
    world.plan_refused(&["-primary.xml.gz"]);
    runtime.block_on(server.shutdown());
}

#[test]
fn every_source_that_cannot_be_read_is_named_at_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    repository(dir.path(), &[]);
    let server = serve(&runtime, dir.path());
    let url = server.url();
    let world = crate::support::world_of(&format!(
        concat!(
            "rpm-md:\n",
            "  - url: {url}/repo\n    distro: fedora/39\n",
            "  - url: {url}/gone-a\n    distro: fedora/40\n",
            "  - url: {url}/gone-b\n    distro: fedora/41\n",
            "deb:\n  - url: {url}/gone-c\n    distro: ubuntu/jammy\n",
        ),
        url = url
    ));
    world.plan_refused(&[
        "3 sources could not be read",
        "/gone-a/repodata/repomd.xml",
        "/gone-b/repodata/repomd.xml",
        "/gone-c/",
    ]);
    runtime.block_on(server.shutdown());
}

#[test]
fn a_package_whose_download_has_another_sha256_is_not_uploaded() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path(), &[]);
    let server = serve(&runtime, dir.path());
    let world = world(&format!("{}/repo", server.url()));
    let plan = world.plan_out("plan.json");
    // The file changes on the server but the metadata does not say so.
    let target = repo.join("x86_64/alpha-1.0-1.x86_64.rpm");
    let mut changed = std::fs::read(&target).unwrap();
    let n = changed.len() - 1;
    changed[n] ^= 0x01;
    std::fs::write(&target, changed).unwrap();
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(5);
    assert!(
        run.stderr.contains("alpha-1.0-1.x86_64.rpm"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("sha256"), "{}", run.stderr);
    let stored: Vec<String> = world.stored().into_iter().map(|(p, _)| p).collect();
    assert!(!stored.iter().any(|p| p.contains("alpha")), "{stored:?}");
    runtime.block_on(server.shutdown());
}

#[test]
fn a_signed_repository_verifies_against_its_key_and_nothing_else() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path(), &[]);
    let key = Gpg::new(dir.path(), "repo");
    let repomd = repo.join("repodata/repomd.xml");
    key.detach_sign(&repomd);
    let server = serve(&runtime, dir.path());
    let url = format!("{}/repo", server.url());
    let signed_by = |key: &Gpg| format!("    signed_by: {}\n", key.public_key.display());

    // Another key: refused, naming the repository and the signature.
    let other = Gpg::new(dir.path(), "other");
    let world = world_with(&url, &signed_by(&other));
    world.plan_refused(&[
        "rpm-md repository",
        "repomd.xml.asc",
        "no valid signature",
        &other.fingerprint,
    ]);

    // Its own key: synced, and the plan records the key's fingerprint.
    let world = world_with(&url, &signed_by(&key));
    let plan = pkgsync::plan::file::read(&world.plan_out("signed.json")).unwrap();
    assert_eq!(
        plan.config.rpm_md[0].signed_by,
        vec![key.fingerprint.clone()]
    );
    converges(&world, &repo);

    // repomd.xml changed after signing, or no signature at all: refused.
    let text = std::fs::read_to_string(&repomd).unwrap();
    std::fs::write(&repomd, text.replace("<revision>", "<revision>1")).unwrap();
    let world = world_with(&url, &signed_by(&key));
    world.plan_refused(&["repomd.xml.asc", "no valid signature"]);
    std::fs::remove_file(repo.join("repodata/repomd.xml.asc")).unwrap();
    world.plan_refused(&["repomd.xml.asc", "404"]);
    runtime.block_on(server.shutdown());
}

#[test]
fn an_unsigned_repository_is_named_as_such() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    repository(dir.path(), &[]);
    let server = serve(&runtime, dir.path());
    let world = world(&format!("{}/repo", server.url()));
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(0);
    assert!(
        run.stderr
            .contains("has no `signed_by`: its metadata is not verified by a signature"),
        "{}",
        run.stderr
    );
    runtime.block_on(server.shutdown());
}

#[test]
fn a_file_changed_in_the_repository_after_planning_makes_the_plan_stale() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path(), &[]);
    let server = serve(&runtime, dir.path());
    let world = world(&format!("{}/repo", server.url()));
    let plan = world.plan_out("plan.json");
    // alpha is rebuilt and the repository republished: its sha256 moves.
    std::fs::write(
        repo.join("x86_64/alpha-1.0-1.x86_64.rpm"),
        simple_rpm("alpha", "1.0", "1", "x86_64")
            .map(|mut b| {
                let n = b.len() - 1;
                b[n] ^= 1;
                b
            })
            .unwrap(),
    )
    .unwrap();
    std::fs::remove_dir_all(repo.join("repodata")).unwrap();
    let output = Command::new("createrepo_c")
        .args(["--quiet", "--unique-md-filenames", "--checksum=sha256"])
        .arg(&repo)
        .output()
        .unwrap();
    assert!(output.status.success());
    let run = world
        .pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
        .expect(4);
    assert!(
        run.stderr.contains("the plan is stale") && run.stderr.contains("alpha-1.0-1.x86_64.rpm"),
        "{}",
        run.stderr
    );
    assert!(world.stored().is_empty(), "nothing changed");
    runtime.block_on(server.shutdown());
}

#[test]
fn mirror_mode_deletes_what_the_repository_no_longer_lists_and_refuses_other_content() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let repo = repository(dir.path(), &[]);
    let server = serve(&runtime, dir.path());
    let world = world(&format!("{}/repo", server.url()));
    converges(&world, &repo);

    // beta leaves the repository: its stored copy is an orphan, deleted.
    std::fs::remove_file(repo.join("x86_64/beta-1.0-1.x86_64.rpm")).unwrap();
    std::fs::remove_dir_all(repo.join("repodata")).unwrap();
    let createrepo = |repo: &Path| {
        let output = Command::new("createrepo_c")
            .args(["--quiet", "--unique-md-filenames", "--checksum=sha256"])
            .arg(repo)
            .output()
            .unwrap();
        assert!(output.status.success());
    };
    createrepo(&repo);
    let plan = pkgsync::plan::file::read(&world.plan_out("orphan.json")).unwrap();
    let deletes: Vec<&str> = plan
        .actions
        .iter()
        .filter(|a| a.action == pkgsync::plan::ActionKind::Delete)
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(deletes, ["beta-1.0-1.x86_64.rpm"]);
    assert_eq!(plan.summary.upload, 0);

    // gamma is listed with other content than Packagecloud holds: a conflict.
    let gamma = repo.join("noarch/gamma-1.0-1.noarch.rpm");
    let mut bytes = std::fs::read(&gamma).unwrap();
    let n = bytes.len() - 1;
    bytes[n] ^= 1;
    std::fs::write(&gamma, bytes).unwrap();
    std::fs::remove_dir_all(repo.join("repodata")).unwrap();
    createrepo(&repo);
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(6);
    assert!(
        run.stderr.contains("gamma-1.0-1.noarch.rpm"),
        "{}",
        run.stderr
    );
    runtime.block_on(server.shutdown());
}

#[test]
fn obs_hints_reach_the_user_alone_and_beside_another_failing_source() {
    let world = World::demo();
    world.edit_config("demo-password", "wrong-password");
    let hint = "hint: OBS rejected the password of user `demo`";
    let run = world.plan_refused(&[hint]);
    assert!(!run.stderr.contains("wrong-password"), "{}", run.stderr);
    let config = std::fs::read_to_string(&world.config).unwrap()
        + "rpm-md:\n  - url: /nonexistent/repository\n    distro: fedora/40\n";
    std::fs::write(&world.config, config).unwrap();
    let run = world.plan_refused(&[
        "2 sources could not be read",
        "/nonexistent/repository",
        hint,
    ]);
    assert!(!run.stderr.contains("wrong-password"), "{}", run.stderr);
}
