//! The real backend's published repositories as the source (`obs.published`):
//! what bs_publish wrote under `$OBS_HOME/srv/repos` (start.sh waits until
//! every repository is `published`), served over loopback as a download server
//! serves it, planned and applied into the Packagecloud emulator.

use super::{PROJECT, REPO, Target, backend_listing, backend_url, config_text, obs_home};
use pkgsync::plan::{ActionKind, Plan};
use pkgsync_sandbox::ObsState;
use pkgsync_sandbox::files::FileServer;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn uploads(plan: &Plan) -> BTreeSet<(String, String)> {
    plan.actions
        .iter()
        .filter(|a| a.action == ActionKind::Upload)
        .map(|a| (a.distro_version.clone(), a.filename.clone()))
        .collect()
}

fn repository_of(distro_version: &str) -> &'static str {
    match distro_version {
        "fedora/39" => "Fedora_39",
        "ubuntu/jammy" => "xUbuntu_22.04",
        other => panic!("unexpected distro/version {other}"),
    }
}

/// The one file named `filename` in a published repository's tree (outside
/// `repocache/`, the publisher's own cache), found without pkgsync's help.
fn published_file(repository: &Path, filename: &str) -> PathBuf {
    fn walk(dir: &Path, filename: &str, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with("repocache") {
                walk(&path, filename, found);
            } else if path.file_name().is_some_and(|n| n == filename) {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(repository, filename, &mut found);
    assert_eq!(
        found.len(),
        1,
        "`{filename}` in {}: {found:?}",
        repository.display()
    );
    found.remove(0)
}

fn digest<D: Digest>(path: &Path) -> String {
    hex::encode(D::digest(std::fs::read(path).unwrap()))
}

#[test]
#[ignore = "the real OBS backend: installs (apt, as root) and starts obs-server; run by ./tests/run"]
fn the_published_repositories_plan_the_build_apis_uploads_with_the_files_sha256_and_converge() {
    let url = backend_url();
    let target = Target::new(ObsState::default());
    let (_, from_api) = target.plan(&target.config_for(url), "api.json");

    let repos = obs_home().join("srv/repos");
    let files = target
        .runtime
        .block_on(FileServer::start(repos.clone()))
        .unwrap();
    let config = target.dir.path().join("published.yaml");
    let text = config_text(url, target.sandbox().packagecloud_url()).replace(
        "obs:\n",
        &format!("obs:\n  published: true\n  download_url: {}\n", files.url()),
    );
    std::fs::write(&config, text).unwrap();
    let (plan_path, published) = target.plan(&config, "published.json");

    assert_eq!(uploads(&published), uploads(&from_api));
    assert!(published.summary.upload > 20, "{:?}", published.summary);
    assert_eq!(published.summary.delete, 0);

    // Every upload carries the sha256 of the file the publisher wrote.
    let project_dir = repos.join(PROJECT.replace(':', ":/"));
    let mut on_disk = BTreeMap::new();
    for action in published
        .actions
        .iter()
        .filter(|a| a.action == ActionKind::Upload)
    {
        let repository = repository_of(&action.distro_version);
        let file = published_file(&project_dir.join(repository), &action.filename);
        let sha256 = digest::<sha2::Sha256>(&file);
        let planned = action.source.as_ref().and_then(|s| s.sha256.clone());
        assert_eq!(planned.as_ref(), Some(&sha256), "{}", file.display());
        on_disk.insert(
            (action.distro_version.clone(), action.filename.clone()),
            sha256,
        );
    }
    noarch_copies_are_one_arch_build(&project_dir);

    target
        .pkgsync(&[
            "apply",
            plan_path.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .expect(0);
    let stored: BTreeMap<(String, String), String> = target
        .sandbox()
        .packagecloud()
        .packages(REPO)
        .into_iter()
        .map(|p| ((p.distro_version, p.filename), p.sha256))
        .collect();
    assert_eq!(stored, on_disk, "stored as published, byte for byte");
    for config in [config, target.config_for(url)] {
        target.no_changes(&config);
    }
    target.runtime.block_on(files.shutdown());
}

/// A noarch rpm / `_all` deb is built once per arch, the copies differing in
/// bytes; the publisher puts one of them in the repository. Which one is not a
/// fixed arch: bs_publish keeps a copy it already published and otherwise
/// takes the first arch of the repository in the project's meta, so the copy
/// of whichever build it saw first stays (in one run the `_all` deb was
/// aarch64's). It is always one arch's build, byte for byte.
fn noarch_copies_are_one_arch_build(project_dir: &Path) {
    let listing = backend_listing();
    for (repository, filename) in [
        ("Fedora_39", "world-doc-2.0-1.1.noarch.rpm"),
        ("xUbuntu_22.04", "world-doc_2.0-1.1_all.deb"),
    ] {
        let md5 = digest::<md5::Md5>(&published_file(&project_dir.join(repository), filename));
        let copies: BTreeMap<&str, &str> = listing
            .iter()
            .filter(|b| b.repository == repository && b.filename == filename)
            .map(|b| (b.arch.as_str(), b.md5.as_str()))
            .collect();
        assert_eq!(
            copies.len(),
            2,
            "{filename} built on both arches: {copies:?}"
        );
        let arch = copies.iter().find(|(_, m)| **m == md5).map(|(a, _)| *a);
        assert!(
            arch.is_some(),
            "published {filename} is no arch's build: {copies:?}"
        );
        eprintln!(
            "published {repository}/{filename}: the {} build",
            arch.unwrap()
        );
    }
}
