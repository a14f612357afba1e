//! pkgsync against the real OBS backend (Debian's `obs-server`), started by
//! `tests/obs-backend/start.sh` (which installs it on a fresh machine). If the
//! backend cannot be started, these tests fail with the script's reason.
//!
//! The Packagecloud side is the sandbox emulator. The same OBS scenario is then
//! copied into the sandbox's OBS emulator, to show both give the same plan;
//! `published` reads the backend's published repositories instead.

mod published;

use crate::support;
use crate::support::Run;
use pkgsync::config::{Config, Environment};
use pkgsync::http::{HttpClient, RetryPolicy};
use pkgsync::model::{ObsBuilt, Provenance};
use pkgsync::obs::client::{ObsClient, ResultQuery};
use pkgsync::plan::ActionKind;
use pkgsync_sandbox::packagecloud::PackagecloudSeed;
use pkgsync_sandbox::{ObsState, Sandbox, Seed};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const PROJECT: &str = "home:pkgsync:test";
const REPO: &str = "test/real";
const TOKEN: &str = "feedfacefeedfacefeedfacefeedfacefeedfacefeedface";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Starts the backend once for this test binary; panics with the reason if it
/// cannot (no silent pass).
fn backend_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let output = Command::new(root().join("tests/obs-backend/start.sh"))
            .output()
            .expect("tests/obs-backend/start.sh runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "the real OBS backend could not be started (tests/obs-backend/start.sh exited with {}):\n{}",
            output.status,
            stderr.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
        );
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("OBS_BACKEND_URL="))
            .unwrap_or_else(|| panic!("start.sh printed no URL: {stdout}"))
            .to_string()
    })
}

/// A row of `tests/obs-backend/list-binaries.sh`: the backend's own listing.
#[derive(Debug, Clone)]
struct Listed {
    repository: String,
    arch: String,
    package: String,
    filename: String,
    md5: String,
}

fn backend_listing() -> Vec<Listed> {
    let output = Command::new(root().join("tests/obs-backend/list-binaries.sh"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            Listed {
                repository: f[0].into(),
                arch: f[1].into(),
                package: f[2].into(),
                filename: f[3].into(),
                md5: f[5].into(),
            }
        })
        .collect()
}

fn mapping(repository: &str) -> &'static str {
    match repository {
        "Fedora_39" => "fedora/39",
        "xUbuntu_22.04" => "ubuntu/jammy",
        other => panic!("unexpected repository {other}"),
    }
}

/// What should be synced, by a rule written independently of pkgsync's: binary
/// rpms and debs, no source or debug packages, one per distro/version and name.
fn expected_keys(listing: &[Listed]) -> BTreeSet<(String, String)> {
    listing
        .iter()
        .filter(|b| {
            let rpm = b.filename.ends_with(".rpm")
                && !b.filename.ends_with(".src.rpm")
                && !b.filename.contains("-debuginfo-")
                && !b.filename.contains("-debugsource-");
            let deb = b.filename.ends_with(".deb") && !b.filename.contains("-dbgsym_");
            rpm || deb
        })
        .map(|b| (mapping(&b.repository).to_string(), b.filename.clone()))
        .collect()
}

fn config_text(obs_url: &str, pc_url: &str) -> String {
    // The backend does no authentication; credentials make pkgsync use the
    // direct routes rather than the /public ones only the full API serves.
    format!(
        "obs:\n  url: {obs_url}\n  auth:\n    user: tester\n    password: not-checked\n\
obsprojects:\n  {PROJECT}: {{}}\n\
packagecloud:\n  url: {pc_url}\n  repo: {REPO}\n  auth:\n    token: {TOKEN}\n\
distro-mapping:\n  Fedora_39: fedora/39\n  xUbuntu_22.04: ubuntu/jammy\n\
sync:\n  mode: mirror\n"
    )
}

struct Target {
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    dir: tempfile::TempDir,
}

impl Target {
    fn new(obs: ObsState) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut pc = PackagecloudSeed {
            token: Some(TOKEN.into()),
            ..PackagecloudSeed::default()
        };
        pc.repo(REPO);
        let sandbox = runtime
            .block_on(Sandbox::start(Seed {
                obs,
                packagecloud: pc,
            }))
            .unwrap();
        Self {
            runtime,
            sandbox: Some(sandbox),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().unwrap()
    }

    fn config_for(&self, obs_url: &str) -> PathBuf {
        let path = self.dir.path().join("config.yaml");
        std::fs::write(
            &path,
            config_text(obs_url, self.sandbox().packagecloud_url()),
        )
        .unwrap();
        path
    }

    fn pkgsync(&self, args: &[&str]) -> Run {
        Run::from(
            support::pkgsync_command(self.dir.path())
                .args(args)
                .output()
                .unwrap(),
        )
    }

    /// Plans with `config` again: nothing is left to do.
    fn no_changes(&self, config: &Path) {
        let again = self
            .pkgsync(&[
                "plan",
                "--config",
                config.to_str().unwrap(),
                "--detailed-exitcode",
            ])
            .expect(0);
        assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
    }

    fn plan(&self, config: &Path, name: &str) -> (PathBuf, pkgsync::plan::Plan) {
        let path = self.dir.path().join(name);
        self.pkgsync(&[
            "plan",
            "--config",
            config.to_str().unwrap(),
            "--out",
            path.to_str().unwrap(),
        ])
        .expect(0);
        let plan = pkgsync::plan::file::read(&path).unwrap();
        (path, plan)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(s) = self.sandbox.take() {
            self.runtime.block_on(s.shutdown());
        }
    }
}

/// The backend's state directory, as `tests/obs-backend/common.sh` picks it.
fn obs_home() -> PathBuf {
    std::env::var("OBS_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("pkgsync-obs-backend"))
}

fn result_requests() -> usize {
    std::fs::read_to_string(obs_home().join("log/srcserver.log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("/build/{PROJECT}/_result")))
        .count()
}

#[test]
#[ignore = "the real OBS backend: installs (apt, as root) and starts obs-server; run by ./tests/run"]
fn plan_against_the_real_backend_lists_exactly_its_binaries_and_apply_converges() {
    let url = backend_url();
    let listing = backend_listing();
    let target = Target::new(ObsState::default());
    let config = target.config_for(url);

    let before = result_requests();
    let (plan_path, plan) = target.plan(&config, "plan.json");
    assert_eq!(
        result_requests() - before,
        1,
        "one _result request for the project"
    );

    let planned: BTreeSet<(String, String)> = plan
        .actions
        .iter()
        .filter(|a| a.action == ActionKind::Upload)
        .map(|a| (a.distro_version.clone(), a.filename.clone()))
        .collect();
    assert_eq!(planned, expected_keys(&listing));
    assert_eq!(plan.summary.delete, 0);

    // Each upload names an origin the backend lists (size and mtime identify
    // it; apply reads the md5); the noarch and _all files come from x86_64,
    // pkgsync's rule (the arch sorting last), whichever copy the publisher has.
    let mut listed_md5 = std::collections::BTreeMap::new();
    for action in &plan.actions {
        let source = action.source.as_ref().unwrap();
        let Provenance::Obs(ObsBuilt { origin, .. }) = &source.provenance else {
            panic!("the demo plans from OBS only");
        };
        let listed = listing
            .iter()
            .find(|b| {
                *b.repository == *origin.repository
                    && *b.arch == *origin.arch
                    && *b.package == *origin.package
                    && b.filename == origin.filename
            })
            .unwrap_or_else(|| panic!("{source:?} is listed by the backend"));
        assert_eq!(source.md5, None, "a plan reads no per-package md5");
        listed_md5.insert(
            (action.distro_version.clone(), action.filename.clone()),
            listed.md5.clone(),
        );
        if action.filename.contains(".noarch.") || action.filename.contains("_all.") {
            assert_eq!(&*origin.arch, "x86_64", "{}", action.filename);
        }
    }

    // Apply downloads the real rpmbuild/dpkg-deb files and uploads them.
    let run = target
        .pkgsync(&[
            "apply",
            plan_path.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .expect(0);
    assert!(
        run.stdout.contains(&format!("{} uploaded", planned.len())),
        "{}",
        run.stdout
    );
    let packagecloud = target.sandbox().packagecloud();
    let stored: BTreeSet<(String, String)> = packagecloud
        .packages(REPO)
        .into_iter()
        .map(|p| (p.distro_version, p.filename))
        .collect();
    assert_eq!(stored, planned, "stored under the names OBS gave them");
    for ((distro_version, filename), md5) in &listed_md5 {
        use md5::Digest;
        let bytes = packagecloud
            .package_bytes(REPO, distro_version, filename)
            .unwrap();
        assert_eq!(
            &hex::encode(md5::Md5::digest(&bytes)),
            md5,
            "`{filename}` arrived with the md5 the backend lists"
        );
    }
    target.no_changes(&config);
}

/// Copies the backend's project, as pkgsync's client reads it, into the emulator.
fn copy_backend_into_emulator(url: &str) -> ObsState {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let text = config_text(url, "http://127.0.0.1:1");
    let config = Config::parse(&text, Path::new("copy.yaml"), &Environment::default()).unwrap();
    let project = &config.obs.projects[0];
    let client = ObsClient::new(HttpClient::new(RetryPolicy::default()), url);
    let http = reqwest::Client::new();
    runtime.block_on(async {
        let meta = client.project_meta(project).await.unwrap();
        let results = client
            .results(project, &ResultQuery::default())
            .await
            .unwrap();
        let mut state = ObsState::default();
        let copy = state.project(PROJECT);
        for repository in &meta.repositories {
            let archs: Vec<&str> = repository.archs.iter().map(String::as_str).collect();
            copy.repository(&repository.name, &archs);
        }
        let mut codes = BTreeMap::new();
        for result in &results.results {
            for status in &result.statuses {
                codes.insert(
                    (
                        result.repository.clone(),
                        result.arch.clone(),
                        status.package.clone(),
                    ),
                    status.code.clone(),
                );
            }
            for list in &result.binarylists {
                let package = list.package.clone().unwrap();
                copy.package(&package);
                for binary in &list.binaries {
                    let file_url = format!(
                        "{url}/build/{PROJECT}/{}/{}/{package}/{}",
                        result.repository, result.arch, binary.filename
                    );
                    let bytes = http
                        .get(&file_url)
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                    copy.set_binary(
                        &result.repository,
                        &result.arch,
                        &package,
                        &binary.filename,
                        bytes,
                        binary.mtime,
                    );
                }
            }
        }
        for ((repository, arch, package), code) in codes {
            copy.set_code(&repository, &arch, &package, &code);
        }
        state
    })
}

#[test]
#[ignore = "the real OBS backend: installs (apt, as root) and starts obs-server; run by ./tests/run"]
fn the_emulator_gives_the_same_plan_as_the_real_backend() {
    let url = backend_url();
    let real = Target::new(ObsState::default());
    let (_, from_backend) = real.plan(&real.config_for(url), "real.json");

    let emulated = Target::new(copy_backend_into_emulator(url));
    let obs_url = emulated.sandbox().obs_url().to_string();
    let (_, from_emulator) = emulated.plan(&emulated.config_for(&obs_url), "emulated.json");

    assert_eq!(from_emulator.actions, from_backend.actions);
    assert_eq!(from_emulator.observed.source, from_backend.observed.source);
    assert!(
        from_backend.summary.upload > 20,
        "a real scenario: {:?}",
        from_backend.summary
    );
}
