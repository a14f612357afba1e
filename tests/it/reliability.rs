//! A hostile environment, through the real binary: a full disk, bytes flipped in
//! transit, servers that never stop talking or only trickle, credentials in URLs,
//! names crafted to fool a reviewer, listings without pagination. Nothing damaged
//! is left on Packagecloud, every read ends, and every message is safe to show.

use crate::support;
use crate::support::{Run, World};
use pkgsync_sandbox::demo::{DEMO_DEB_REPOSITORY, DEMO_OBS_PROJECT, DEMO_PC_REPO};
use pkgsync_sandbox::{Fault, FaultRule, Seed};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn apply(world: &World, plan: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["apply", plan.to_str().unwrap(), "--config", world.config()];
    args.extend_from_slice(extra);
    world.pkgsync(&args)
}

fn journal(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn appended(world: &World, text: &str) {
    let mut config = std::fs::read_to_string(&world.config).unwrap();
    config.push_str(text);
    std::fs::write(&world.config, config).unwrap();
}

/// The demo plus one deb of about `size` bytes of incompressible content, with
/// a config that syncs only that one (additive, so nothing else moves).
fn one_big_deb(size: usize) -> (World, String, Vec<u8>) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let content: Vec<u8> = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let deb = pkgsync_sandbox::packages::build_deb(
        "bigfile",
        "1.0-1",
        "amd64",
        &[("/usr/share/bigfile/blob", &content)],
    )
    .unwrap();
    let filename = "bigfile_1.0-1_amd64.deb".to_string();
    let mut seed = Seed::demo();
    seed.obs.project(DEMO_OBS_PROJECT).set_binary(
        DEMO_DEB_REPOSITORY,
        "x86_64",
        "bigfile",
        &filename,
        deb.clone(),
        1_800_000_000,
    );
    let world = World::with_seed(seed);
    world.edit_config("mode: mirror", "mode: additive");
    appended(
        &world,
        &format!(
            "filters:\n  packages:\n    include: [bigfile]\n  repositories:\n    include: [{DEMO_DEB_REPOSITORY}]\n  architectures:\n    include: [x86_64]\n"
        ),
    );
    (world, filename, deb)
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A small tmpfs, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None`, with the reason printed, where this machine cannot mount.
    fn mount(bytes: u64) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match output {
            Ok(o) if o.status.success() => Some(Self { dir }),
            Ok(o) => {
                println!(
                    "SKIPPED: cannot mount a tmpfs here (the test needs root): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                println!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the file system until exactly `free` bytes (a multiple of the page
    /// size) are left.
    fn leave_free(&self, free: u64) {
        let filler = self.path().join("filler");
        let _ = std::fs::remove_file(&filler);
        let stat = nix_statvfs(self.path());
        let used = stat.0 - stat.1;
        let fill = stat.0 - used - free;
        std::fs::write(&filler, vec![0xa5u8; fill as usize]).unwrap();
        assert_eq!(nix_statvfs(self.path()).1, free, "free space on the tmpfs");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// (total bytes, available bytes) of the file system at `path`, from `df`.
fn nix_statvfs(path: &Path) -> (u64, u64) {
    let output = Command::new("df")
        .args(["-B1", "--output=size,avail"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().nth(1).unwrap();
    let mut numbers = line.split_whitespace().map(|n| n.parse::<u64>().unwrap());
    (numbers.next().unwrap(), numbers.next().unwrap())
}

#[test]
fn a_full_cache_disk_never_uploads_a_short_file() {
    const PAGE: u64 = 4096;
    let (world, filename, deb) = one_big_deb(300 * 1024);
    let plan = world.plan_out("plan.json");
    let size = deb.len() as u64;
    let Some(disk) = Tmpfs::mount((size / PAGE + 8) * PAGE) else {
        return;
    };
    let cache = disk.path().join("cache");
    std::fs::create_dir_all(cache.join("files")).unwrap();
    let journal_path = world.path("journal.jsonl");
    let places = [
        "--cache-dir",
        cache.to_str().unwrap(),
        "--journal",
        journal_path.to_str().unwrap(),
    ];
    let last_page = (size - 1) / PAGE * PAGE;
    // Space for all but the final bytes (the last write fails), for one page
    // less, for half the file, and for nothing at all.
    for free in [last_page, last_page - PAGE, size / 2 / PAGE * PAGE, 0] {
        disk.leave_free(free);
        let run = apply(&world, &plan, &places).expect(5);
        assert!(
            run.stderr.contains("No space left on device"),
            "the cause is named ({free} bytes free):\n{}",
            run.stderr
        );
        assert!(
            !world
                .stored()
                .iter()
                .any(|(k, _)| k.ends_with(&format!("/{filename}"))),
            "nothing was uploaded with {free} bytes free"
        );
        let cached: Vec<PathBuf> = std::fs::read_dir(cache.join("files"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(
            cached.is_empty(),
            "no file is left in the cache: {cached:?}"
        );
    }
    // With room again, the same plan finishes with the whole file.
    std::fs::remove_file(disk.path().join("filler")).unwrap();
    apply(&world, &plan, &places).expect(0);
    let stored = world.stored();
    let (_, stored_sha) = stored
        .iter()
        .find(|(k, _)| k.ends_with(&format!("/{filename}")))
        .unwrap();
    assert_eq!(stored_sha, &sha256(&deb));
}

#[test]
fn a_byte_flipped_in_transit_is_deleted_and_uploaded_again() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    let journal_path = world.path("journal.jsonl");
    world.sandbox().packagecloud().set_faults(vec![
        FaultRule::new("/packages.json", Fault::CorruptUpload)
            .method("POST")
            .times(1),
    ]);
    apply(
        &world,
        &plan,
        &["--journal", journal_path.to_str().unwrap()],
    )
    .expect(0);

    let records = journal(&journal_path);
    let damaged: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["outcome"] == "damaged")
        .collect();
    assert_eq!(damaged.len(), 1, "the damage is journaled: {records:#?}");
    let damaged_sha = damaged[0]["stored"]["sha256"].as_str().unwrap();
    let filename = damaged[0]["filename"].as_str().unwrap();
    assert!(
        records
            .iter()
            .any(|r| r["filename"] == filename && r["outcome"] == "uploaded"),
        "and so is the good upload that followed"
    );
    let stored = world.stored();
    assert!(
        stored.iter().all(|(_, sha)| sha != damaged_sha),
        "the damaged copy is gone"
    );
    let key = stored
        .iter()
        .find(|(k, _)| k.ends_with(&format!("/{filename}")))
        .unwrap();
    let (distro, version_and_name) = key.0.split_once('/').unwrap();
    let version = version_and_name.split_once('/').unwrap().0;
    let bytes = world
        .sandbox()
        .packagecloud()
        .package_bytes(DEMO_PC_REPO, &format!("{distro}/{version}"), filename)
        .unwrap();
    assert_eq!(sha256(&bytes), key.1, "what is stored is what was listed");
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
}

#[test]
fn a_rerun_repairs_a_damaged_copy_that_a_failed_run_left_behind() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    let journal_path = world.path("journal.jsonl");
    let journal_arg = ["--journal", journal_path.to_str().unwrap()];
    // The damaged copy cannot be deleted (as if the run had died right after
    // the upload): it stays, and the run fails.
    world.sandbox().packagecloud().set_faults(vec![
        FaultRule::new("/packages.json", Fault::CorruptUpload)
            .method("POST")
            .times(1),
        FaultRule::new("/api/v1/repos/", Fault::Status(503))
            .method("DELETE")
            .times(1000),
    ]);
    apply(&world, &plan, &journal_arg).expect(5);
    let records = journal(&journal_path);
    let damaged = records
        .iter()
        .find(|r| r["outcome"] == "damaged")
        .expect("the damage is journaled");
    let damaged_sha = damaged["stored"]["sha256"].as_str().unwrap().to_string();
    let filename = damaged["filename"].as_str().unwrap().to_string();
    assert!(
        world.stored().iter().any(|(_, sha)| *sha == damaged_sha),
        "the scenario leaves the damaged copy on Packagecloud"
    );

    world.sandbox().packagecloud().clear_faults();
    apply(&world, &plan, &journal_arg).expect(0);
    assert!(
        world.stored().iter().all(|(_, sha)| *sha != damaged_sha),
        "the rerun replaced the damaged copy"
    );
    assert!(
        journal(&journal_path)
            .iter()
            .any(|r| r["filename"] == filename.as_str() && r["outcome"] == "replaced"),
        "the journal says it was replaced"
    );
}

#[test]
fn credentials_in_a_url_are_refused_and_never_shown() {
    let world = World::demo();
    let original = std::fs::read_to_string(&world.config).unwrap();
    let obs_url = world.sandbox().obs_url().to_string();
    let pc_url = world.sandbox().packagecloud_url().to_string();
    for (from, key) in [(&obs_url, "obs.url"), (&pc_url, "packagecloud.url")] {
        for bad in [
            "http://user:PASS@host:notaport",
            "ftp://user:PASS@host/",
            "http://user:PASS@127.0.0.1:1",
            "http://PASS@host",
            "https:user:PASS@host",
            "https:///user:PASS@host",
            "https://bot:se/PASS@host",
        ] {
            std::fs::write(&world.config, original.replace(from.as_str(), bad)).unwrap();
            let run = world
                .pkgsync(&["plan", "--config", world.config()])
                .expect(1);
            let all = format!("{}{}", run.stdout, run.stderr);
            assert!(!all.contains("PASS"), "{key} = {bad}:\n{all}");
            assert!(all.contains(key), "the key is named:\n{all}");
            assert!(all.contains("credentials"), "and why:\n{all}");
        }
    }
}

#[test]
fn crafted_packagecloud_names_are_shown_escaped_and_still_deleted_by_the_rules() {
    let world = World::demo();
    let pc = world.sandbox().packagecloud();
    let bytes = pkgsync_sandbox::packages::simple_rpm("crafted", "1.0", "1", "x86_64").unwrap();
    let stored = pc.insert_package(DEMO_PC_REPO, "fedora/39", bytes).unwrap();
    let crafted = "evil\u{1b}[2K\r    + upload  harmless-1.0-1.x86_64.rpm\n| `ubuntu` | `forged` | row |\u{202e}mpr.x86_64-1.0-1.x86_64.rpm";
    assert!(pc.rename_package(DEMO_PC_REPO, "fedora/39", &stored, crafted));
    let plan = world.plan_out("plan.json");

    for args in [
        vec!["plan", "--config", world.config()],
        vec!["show", plan.to_str().unwrap()],
    ] {
        let text = world.pkgsync(&args).expect(0).stdout;
        assert!(
            !text.contains(['\u{1b}', '\r', '\u{202e}']),
            "no raw control or bidi character reaches the terminal:\n{text}"
        );
        assert!(
            !text.contains("\n    + upload  harmless"),
            "no forged line:\n{text}"
        );
        let line = text
            .lines()
            .find(|l| l.contains("evil"))
            .expect("the crafted name is listed");
        assert!(line.trim_start().starts_with("- delete"), "{line}");
        assert!(
            line.contains("\\u{1b}") && line.contains("\\u{202e}"),
            "{line}"
        );
        assert!(
            line.contains("UNSAFE NAME"),
            "the reviewer is warned: {line}"
        );
    }
    let markdown = world
        .pkgsync(&["show", plan.to_str().unwrap(), "--format", "markdown"])
        .expect(0)
        .stdout;
    assert!(
        !markdown.contains(['\u{1b}', '\r', '\u{202e}']),
        "{markdown}"
    );
    let rows: Vec<&str> = markdown.lines().filter(|l| l.starts_with("| `")).collect();
    assert!(
        !rows
            .iter()
            .any(|r| r.contains("forged") && !r.contains("evil")),
        "no forged table row:\n{markdown}"
    );
    let plan_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let action = plan_json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["filename"] == crafted)
        .expect("the crafted name is planned for deletion");
    assert_eq!(action["action"], "delete");
    assert_eq!(action["unsafe_name"], true);

    apply(&world, &plan, &[]).expect(0);
    assert!(
        !world.stored().iter().any(|(k, _)| k.contains("evil")),
        "deleted by its encoded name"
    );
}

#[test]
fn a_download_that_goes_on_past_its_listed_size_is_stopped() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    world.sandbox().obs().set_faults(vec![
        FaultRule::new("qemu-kata-8.0.2-1.1.x86_64.rpm", Fault::Endless).times(1000),
    ]);
    let support::Measured { run, peak_kib, .. } = support::run_measured(
        world.dir.path(),
        &["apply", plan.to_str().unwrap(), "--config", world.config()],
        &[],
    );
    let run = run.expect(5);
    assert!(
        run.stderr.contains("goes on past the") && run.stderr.contains("qemu-kata"),
        "{}",
        run.stderr
    );
    assert!(peak_kib < 256 * 1024, "peak RSS {peak_kib} KiB");
    assert!(
        !world
            .stored()
            .iter()
            .any(|(k, _)| k.ends_with("/qemu-kata-8.0.2-1.1.x86_64.rpm")),
        "nothing was uploaded"
    );
}

/// An endless metadata answer is cut at the limit, with bounded memory.
fn endless_metadata(on_obs: bool, path: &str, what: &str, key: &str) {
    let world = World::demo();
    if key == "max_result_mib" {
        appended(&world, "limits:\n  max_result_mib: 128\n");
    }
    let rule = FaultRule::new(path, Fault::Endless)
        .method("GET")
        .times(1000);
    if on_obs {
        world.sandbox().obs().set_faults(vec![rule]);
    } else {
        world.sandbox().packagecloud().set_faults(vec![rule]);
    }
    let started = Instant::now();
    let support::Measured { run, peak_kib, .. } =
        support::run_measured(world.dir.path(), &["plan", "--config", world.config()], &[]);
    let run = run.expect(1);
    println!(
        "endless {what}: stopped after {:.1} s, peak RSS {:.1} MiB",
        started.elapsed().as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
    assert!(
        run.stderr.contains("128 MiB limit") && run.stderr.contains(&format!("limits.{key}")),
        "the limit is named:\n{}",
        run.stderr
    );
    assert!(peak_kib < 256 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn an_endless_result_is_cut_at_the_metadata_limit() {
    endless_metadata(true, "/_result", "_result", "max_result_mib");
}

#[test]
fn an_endless_listing_is_cut_at_the_metadata_limit() {
    endless_metadata(false, "/packages.json", "listing", "max_metadata_mib");
}

#[test]
fn a_drip_fed_download_ends_in_bounded_time_naming_the_limit() {
    let (world, filename, _) = one_big_deb(64 * 1024);
    let plan = world.plan_out("plan.json");
    appended(
        &world,
        "limits:\n  min_bytes_per_second: 1024\n  slow_seconds: 1\n",
    );
    world.sandbox().obs().set_faults(vec![
        FaultRule::new(&filename, Fault::Drip { bytes_per_sec: 16 }).times(1000),
    ]);
    let started = Instant::now();
    let run = apply(&world, &plan, &[]).expect(5);
    let took = started.elapsed();
    assert!(
        run.stderr.contains("too slow") && run.stderr.contains("limits.min_bytes_per_second"),
        "{}",
        run.stderr
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
fn a_stalled_download_is_reported_as_stalled() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    world.sandbox().obs().set_faults(vec![
        FaultRule::new(
            "qemu-kata-8.0.2-1.1.x86_64.rpm",
            Fault::Drip { bytes_per_sec: 1 },
        )
        .times(1000),
    ]);
    let run = world
        .pkgsync_with(
            &["apply", plan.to_str().unwrap(), "--config", world.config()],
            &[("PKGSYNC_READ_TIMEOUT_MS", "100")],
        )
        .expect(5);
    assert!(run.stderr.contains("stalled"), "{}", run.stderr);
    assert!(!run.stderr.contains("cut short"), "{}", run.stderr);
}

#[test]
fn a_slow_metadata_answer_ends_at_the_deadline() {
    let world = World::demo();
    appended(&world, "limits:\n  request_timeout_secs: 2\n");
    world.sandbox().obs().set_faults(vec![
        FaultRule::new("/_result", Fault::Drip { bytes_per_sec: 64 }).times(1000),
    ]);
    let started = Instant::now();
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(1);
    assert!(
        run.stderr.contains("2 s deadline") && run.stderr.contains("limits.request_timeout_secs"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_full_page_without_pagination_headers_is_not_the_whole_listing() {
    for (count, ok) in [(250, false), (249, true)] {
        let mut seed = Seed::demo();
        seed.packagecloud_rpms(DEMO_PC_REPO, "el/8", "filler", count - 4)
            .unwrap();
        let world = World::with_seed(seed);
        let listed = world.stored().len();
        assert_eq!(listed, count, "the seed holds {count} packages");
        let pc = world.sandbox().packagecloud();
        pc.set_count_headers(false);
        pc.set_link_headers(false);
        let run = world.pkgsync(&["plan", "--config", world.config()]);
        if ok {
            run.expect(0);
        } else {
            let run = run.expect(1);
            assert!(
                run.stderr.contains("no pagination headers"),
                "{}",
                run.stderr
            );
        }
    }
}

#[test]
fn a_server_that_never_answers_is_given_up_at_the_deadline() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    appended(&world, "limits:\n  request_timeout_secs: 1\n");
    world.sandbox().obs().set_faults(vec![
        FaultRule::new(
            "qemu-kata-8.0.2-1.1.x86_64.rpm",
            Fault::Delay { millis: 60_000 },
        )
        .times(1000),
    ]);
    let started = Instant::now();
    let run = apply(&world, &plan, &[]).expect(5);
    assert!(
        run.stderr.contains("no answer within the 1 s deadline"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_listing_larger_than_its_limit_is_not_read_on() {
    let world = World::demo();
    let stored = world.stored().len();
    appended(
        &world,
        &format!("limits:\n  max_listed_packages: {}\n", stored - 1),
    );
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(1);
    assert!(
        run.stderr.contains("limits.max_listed_packages"),
        "{}",
        run.stderr
    );
    // Without the count headers, the pages are counted as they come.
    world.sandbox().packagecloud().set_count_headers(false);
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(1);
    assert!(
        run.stderr.contains("limits.max_listed_packages"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_upload_that_is_never_answered_ends_at_its_deadline() {
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    appended(&world, "limits:\n  request_timeout_secs: 1\n");
    world.sandbox().packagecloud().set_faults(vec![
        FaultRule::new("/packages.json", Fault::Delay { millis: 60_000 })
            .method("POST")
            .times(1000),
    ]);
    let started = Instant::now();
    let run = apply(&world, &plan, &["--uploads", "16"]).expect(5);
    assert!(run.stderr.contains("upload deadline"), "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_upload_answered_later_than_the_read_timeout_still_completes() {
    // reqwest's read timeout runs until an answer's head: it must not cut off
    // an upload whose body takes long to send or to store.
    let world = World::demo();
    let plan = world.plan_out("plan.json");
    let uploads = pkgsync::plan::file::read(&plan).unwrap().summary.upload as u64;
    world.sandbox().packagecloud().set_faults(vec![
        FaultRule::new("/packages.json", Fault::Delay { millis: 1_000 })
            .method("POST")
            .times(1000),
    ]);
    world
        .pkgsync_with(
            &["apply", plan.to_str().unwrap(), "--config", world.config()],
            &[("PKGSYNC_READ_TIMEOUT_MS", "300")],
        )
        .expect(0);
    assert_eq!(
        world.sandbox().packagecloud().upload_attempts(),
        uploads,
        "each file posted once"
    );
}
