//! Benchmark: plan and apply at scale, through the real binary against the
//! sandbox, with 0 ms and 20 ms injected before every request on both sides.
//!
//! The OBS project has 3 repositories × 2 archs × P packages; each build area
//! lists two packages (`name`, `name-libs`) and three noise files (a debuginfo
//! package, `_statistics`, `rpmlint.log`), as real build areas do. Packagecloud is
//! empty or holds every package already. For each run it prints wall time, CPU
//! time, peak RSS, requests by kind, the largest number in flight, and the ratio
//! of the wall time to the round-trip floor (requests on the critical path ×
//! latency). It asserts only what must hold: the plans are right. The binary is
//! the test build's (unoptimised pkgsync code, optimised dependencies), so CPU
//! figures are higher than a release build's; compare runs with each other.

use crate::support;
use crate::support::Measured;
use pkgsync_sandbox::demo::{
    DEMO_DEB_REPOSITORY, DEMO_OBS_PASSWORD, DEMO_OBS_PROJECT, DEMO_OBS_USER, DEMO_PC_REPO,
    DEMO_PC_TOKEN, DEMO_RPM_REPOSITORY,
};
use pkgsync_sandbox::packages::{simple_deb, simple_rpm};
use pkgsync_sandbox::{Fault, FaultRule, RecordedRequest, Sandbox, Seed};
use std::collections::BTreeMap;
use std::time::Instant;

const ARCHS: [(&str, &str, &str); 2] = [
    ("x86_64", "x86_64", "amd64"),
    ("aarch64", "aarch64", "arm64"),
];
const LISTED_PER_AREA: usize = 5;
const DEBIAN_REPOSITORY: &str = "Debian_12";

struct Scale {
    /// Packages per (repository, arch).
    packages: usize,
    /// Packagecloud holds everything but the first `missing` packages of each area.
    synced: bool,
    missing: usize,
}

impl Scale {
    fn listed(&self) -> usize {
        3 * ARCHS.len() * self.packages * LISTED_PER_AREA
    }
}

/// The repositories: (OBS name, distro/version, is deb).
fn repositories() -> [(&'static str, &'static str, bool); 3] {
    [
        (DEMO_RPM_REPOSITORY, "fedora/39", false),
        (DEMO_DEB_REPOSITORY, "ubuntu/jammy", true),
        (DEBIAN_REPOSITORY, "debian/bookworm", true),
    ]
}

fn seed(scale: &Scale) -> Seed {
    let mut seed = Seed::empty();
    seed.obs.credentials = Some((DEMO_OBS_USER.into(), DEMO_OBS_PASSWORD.into()));
    seed.packagecloud.token = Some(DEMO_PC_TOKEN.into());
    seed.packagecloud.repo(DEMO_PC_REPO);
    let project = seed.obs.project(DEMO_OBS_PROJECT);
    let archs: Vec<&str> = ARCHS.iter().map(|a| a.0).collect();
    for (repository, _, _) in repositories() {
        project.repository(repository, &archs);
    }
    let mtime = 1_800_000_000;
    for (repository, distro_version, deb) in repositories() {
        for (obs_arch, rpm_arch, deb_arch) in ARCHS {
            for i in 0..scale.packages {
                let package = format!("pkg{i}");
                for name in [package.clone(), format!("{package}-libs")] {
                    let (filename, bytes) = if deb {
                        (
                            format!("{name}_1.0-1_{deb_arch}.deb"),
                            simple_deb(&name, "1.0-1", deb_arch).unwrap(),
                        )
                    } else {
                        (
                            format!("{name}-1.0-1.{rpm_arch}.rpm"),
                            simple_rpm(&name, "1.0", "1", rpm_arch).unwrap(),
                        )
                    };
                    if scale.synced && i >= scale.missing {
                        seed.packagecloud
                            .package(DEMO_PC_REPO, distro_version, bytes.clone());
                    }
                    project.set_binary(repository, obs_arch, &package, &filename, bytes, mtime);
                }
                let debug = if deb {
                    format!("{package}-dbgsym_1.0-1_{deb_arch}.deb")
                } else {
                    format!("{package}-debuginfo-1.0-1.{rpm_arch}.rpm")
                };
                for noise in [debug.as_str(), "_statistics", "rpmlint.log"] {
                    project.set_binary(repository, obs_arch, &package, noise, &b"noise"[..], mtime);
                }
            }
        }
    }
    seed
}

/// What one run asked of each side, by kind.
fn requests_by_kind(obs: &[RecordedRequest], pc: &[RecordedRequest]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for r in obs {
        let query = r.query.as_deref().unwrap_or("");
        let kind = if r.path.ends_with("/_meta") {
            "obs _meta"
        } else if r.path.ends_with("/_result") {
            "obs _result"
        } else if query.contains("withmd5") {
            "obs binary list"
        } else {
            "obs download"
        };
        *kinds.entry(kind.to_string()).or_default() += 1;
    }
    for r in pc {
        let kind = match r.method.as_str() {
            "POST" => "pc upload",
            "DELETE" => "pc delete",
            _ if r.path.ends_with("distributions.json") => "pc distributions",
            _ if r.path.ends_with("/packages.json") => "pc listing page",
            _ if r.path.ends_with("/search.json") => "pc search",
            _ => "pc other",
        };
        *kinds.entry(kind.to_string()).or_default() += 1;
    }
    kinds
}

struct Bench {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    dir: tempfile::TempDir,
    config: String,
}

impl Bench {
    fn new(scale: &Scale) -> Self {
        let started = Instant::now();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = runtime.block_on(Sandbox::start(seed(scale))).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        let text = pkgsync::demo::sandbox_config(&sandbox).replace(
            "distro-mapping:\n",
            &format!("distro-mapping:\n  {DEBIAN_REPOSITORY}: debian/bookworm\n"),
        );
        std::fs::write(&config, text).unwrap();
        println!(
            "bench scale: sandbox of {} listed binaries ready in {:.1} s",
            scale.listed(),
            started.elapsed().as_secs_f64()
        );
        Self {
            runtime,
            sandbox: Some(sandbox),
            dir,
            config: config.to_str().unwrap().to_string(),
        }
    }

    fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().unwrap()
    }

    fn set_latency(&self, millis: u64) {
        let rules = if millis == 0 {
            Vec::new()
        } else {
            vec![FaultRule::new("", Fault::Delay { millis }).times(usize::MAX)]
        };
        self.sandbox().obs().set_faults(rules.clone());
        self.sandbox().packagecloud().set_faults(rules);
    }

    /// Runs the binary, prints its figures, returns its run. `plan_floor`: print
    /// the ratio to a plan's round-trip floor.
    fn run(&self, what: &str, latency_ms: u64, args: &[&str], plan_floor: bool) -> Measured {
        let (obs, pc) = (self.sandbox().obs(), self.sandbox().packagecloud());
        obs.clear_requests();
        pc.clear_requests();
        self.set_latency(latency_ms);
        let started = Instant::now();
        let measured = support::run_measured(self.dir.path(), args, &[]);
        let wall = started.elapsed().as_secs_f64();
        self.set_latency(0);
        let kinds = requests_by_kind(&obs.requests(), &pc.requests());
        let count = |k: &str| kinds.get(k).copied().unwrap_or(0);
        // The critical path of a plan: OBS `_meta` then `_result`, beside the
        // distributions and the first listing page, then the other pages,
        // PAGE_CONCURRENCY at a time.
        let pages = count("pc listing page");
        let rest = pages
            .saturating_sub(1)
            .div_ceil(pkgsync::packagecloud::PAGE_CONCURRENCY);
        let floor_trips = 2.max(1 + rest);
        let floor = if latency_ms == 0 || !plan_floor {
            String::new()
        } else {
            format!(
                ", {:.1}× the round-trip floor ({floor_trips} × {latency_ms} ms)",
                wall / (floor_trips as f64 * latency_ms as f64 / 1000.0)
            )
        };
        println!(
            "bench scale: {what:<44} {latency_ms:>2} ms: wall {wall:>6.2} s, cpu {:>5.2} s, peak RSS {:>6.1} MiB{floor}",
            measured.cpu_secs,
            measured.peak_kib as f64 / 1024.0
        );
        let listed: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!(
            "bench scale:   requests: {}; most in flight: OBS {}, Packagecloud {}",
            listed.join(", "),
            obs.max_in_flight(),
            pc.max_in_flight()
        );
        measured
    }

    fn plan(&self, what: &str, latency_ms: u64) -> pkgsync::plan::Plan {
        let out = self.dir.path().join("plan.json");
        let args = [
            "plan",
            "--config",
            &self.config,
            "--out",
            out.to_str().unwrap(),
        ];
        self.run(what, latency_ms, &args, true).run.expect(0);
        pkgsync::plan::file::read(&out).unwrap()
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.shutdown());
        }
    }
}

#[test]
#[ignore = "a benchmark: slow, prints figures, runs alone; run by ./tests/run"]
fn plan_and_apply_at_scale() {
    let total_started = Instant::now();
    // 20,160 listed binaries, as kata's project: empty target, then synced.
    let kata = Scale {
        packages: 672,
        synced: false,
        missing: 0,
    };
    let bench = Bench::new(&kata);
    for latency in [0, 20] {
        let plan = bench.plan(
            &format!("plan, {} listed, target empty", kata.listed()),
            latency,
        );
        assert_eq!(plan.summary.upload, kata.listed() * 2 / LISTED_PER_AREA);
    }
    drop(bench);

    // Synced but 500 files, then apply those 500.
    let synced = Scale {
        packages: 672,
        synced: true,
        missing: 42,
    };
    let bench = Bench::new(&synced);
    let to_upload = 3 * ARCHS.len() * synced.missing * 2;
    for latency in [0, 20] {
        let plan = bench.plan(
            &format!("plan, {} listed, {to_upload} missing", synced.listed()),
            latency,
        );
        assert_eq!(plan.summary.upload, to_upload);
        assert_eq!(plan.summary.delete, 0);
    }
    // The same uploads at several upload concurrencies: the emptied files are
    // taken out of Packagecloud again before each run.
    let plan_path = bench.dir.path().join("plan.json");
    let planned = pkgsync::plan::file::read(&plan_path).unwrap();
    for uploads in [2, 4, 8, 16] {
        for action in &planned.actions {
            bench.sandbox().packagecloud().remove_package(
                DEMO_PC_REPO,
                &action.distro_version,
                &action.filename,
            );
        }
        // A cache of its own, so that every run downloads.
        let cache = bench.dir.path().join(format!("cache-{uploads}"));
        let started = Instant::now();
        let apply = bench.run(
            &format!("apply of {to_upload} uploads, --uploads {uploads}"),
            20,
            &[
                "apply",
                plan_path.to_str().unwrap(),
                "--config",
                &bench.config,
                "-q",
                "--uploads",
                &uploads.to_string(),
                "--cache-dir",
                cache.to_str().unwrap(),
            ],
            false,
        );
        let seconds = started.elapsed().as_secs_f64();
        apply.run.expect(0);
        println!(
            "bench scale:   apply: {:.1} files/s at 20 ms per request with {uploads} concurrent uploads",
            to_upload as f64 / seconds
        );
    }
    let again = bench.plan("plan after apply", 0);
    assert!(!again.summary.has_changes(), "{:?}", again.summary);
    drop(bench);

    // 40,320 listed, synced: memory at size.
    let large = Scale {
        packages: 1344,
        synced: true,
        missing: 0,
    };
    let bench = Bench::new(&large);
    let plan = bench.plan(
        &format!("plan, {} listed, target synced", large.listed()),
        20,
    );
    assert!(!plan.summary.has_changes());
    println!(
        "bench scale: done in {:.0} s",
        total_started.elapsed().as_secs_f64()
    );
}
