//! The sandbox's published repositories are signed as a publisher signs
//! them: pkgsync syncs them with `signed_by:` the sandbox's key, refuses them
//! with another key before changing anything, and the real gpg verifies the
//! signatures.

use crate::support::{World, gpg, install_tools};
use pkgsync_sandbox::demo::{DEMO_DEB_REPOSITORY, DEMO_OBS_PROJECT, DEMO_RPM_REPOSITORY};
use pkgsync_sandbox::published::project_path;
use pkgsync_sandbox::signing::SigningKey;

mod keys;

/// The demo's sandbox with the demo's config of its published repositories
/// (`fedora/40` from rpm-md, `ubuntu/noble` from the flat Debian tree), both
/// `signed_by` the sandbox's key.
fn published_world() -> World {
    let world = World::demo();
    std::fs::write(
        &world.config,
        pkgsync::demo::published_config(world.sandbox()),
    )
    .unwrap();
    world
}

fn repository_url(world: &World, repository: &str) -> String {
    format!(
        "{}/{}/{repository}",
        world.sandbox().published_url(),
        project_path(DEMO_OBS_PROJECT)
    )
}

#[test]
fn signed_rpm_md_and_deb_sources_converge_and_the_plan_records_the_key() {
    let world = published_world();
    let fingerprint = world.sandbox().signing_fingerprint().to_string();
    assert_eq!(fingerprint.len(), 40, "a v4 fingerprint: {fingerprint}");
    let path = world.plan_out("plan.json");
    let plan = pkgsync::plan::file::read(&path).unwrap();
    assert_eq!(
        plan.config.rpm_md[0].signed_by,
        std::slice::from_ref(&fingerprint)
    );
    assert_eq!(
        plan.config.deb[0].signed_by,
        std::slice::from_ref(&fingerprint)
    );
    for distro in ["fedora/40", "ubuntu/noble"] {
        assert!(
            plan.actions.iter().any(|a| a.distro_version == distro),
            "uploads into {distro}"
        );
    }
    // The Debian tree is read from its clearsigned InRelease.
    let indexes: Vec<&str> = plan.indexes.iter().map(|i| i.url.as_str()).collect();
    assert!(
        indexes.iter().any(|u| u.ends_with("/repodata/repomd.xml"))
            && indexes.iter().any(|u| u.ends_with("/InRelease")),
        "{indexes:?}"
    );

    let shown = world
        .pkgsync(&["show", path.to_str().unwrap()])
        .expect(0)
        .stdout;
    for (kind, repository, distro) in [
        ("rpm-md", DEMO_RPM_REPOSITORY, "fedora/40"),
        ("deb", DEMO_DEB_REPOSITORY, "ubuntu/noble"),
    ] {
        let line = format!(
            "{kind} {} → {distro}: signed by {fingerprint}",
            repository_url(&world, repository)
        );
        assert!(shown.contains(&line), "{line:?} in:\n{shown}");
    }

    world
        .pkgsync(&["apply", path.to_str().unwrap(), "--config", world.config()])
        .expect(0);
    let stored = world.stored();
    for distro in ["fedora/40/", "ubuntu/noble/"] {
        assert!(
            stored.iter().any(|(p, _)| p.starts_with(distro)),
            "{stored:?}"
        );
    }
    world
        .pkgsync(&["plan", "--config", world.config(), "--detailed-exitcode"])
        .expect(0);
}

#[test]
fn another_key_fails_the_plan_naming_the_source_and_file_and_changes_nothing() {
    let world = published_world();
    let other = SigningKey::generate().unwrap();
    let other_key = world.path("other.asc");
    std::fs::write(&other_key, other.public_key_armored().unwrap()).unwrap();
    let config = std::fs::read_to_string(&world.config).unwrap();
    let key = world.sandbox().signing_key_path();
    let before = world.stored();

    // One source at a time on the other key, so that each error is its own.
    let rpm_url = repository_url(&world, DEMO_RPM_REPOSITORY);
    let deb_url = repository_url(&world, DEMO_DEB_REPOSITORY);
    for (source, url, file) in [
        ("rpm-md repository", &rpm_url, "repodata/repomd.xml.asc"),
        ("Debian archive", &deb_url, "InRelease"),
    ] {
        let entry = format!("url: {url}\n");
        let at = config.find(&entry).unwrap() + entry.len();
        let (head, tail) = config.split_at(at);
        let tail = tail.replacen(
            &key.display().to_string(),
            &other_key.display().to_string(),
            1,
        );
        std::fs::write(&world.config, format!("{head}{tail}")).unwrap();
        let run = world
            .pkgsync(&["plan", "--config", world.config()])
            .expect(1);
        for word in [
            source,
            url.as_str(),
            file,
            "no valid signature",
            other.fingerprint(),
        ] {
            assert!(run.stderr.contains(word), "{word:?} in:\n{}", run.stderr);
        }
        // The sandbox's key is named only as the issuer the signature claims.
        let claimed = format!(
            "no given key made it (the signature names issuer {})",
            world.sandbox().signing_fingerprint()
        );
        assert!(
            run.stderr.contains(&claimed),
            "{claimed:?} in:\n{}",
            run.stderr
        );
    }

    let sandbox = world.sandbox();
    let changes: Vec<String> = sandbox
        .packagecloud()
        .requests()
        .into_iter()
        .chain(sandbox.obs().requests())
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!(world.stored(), before);
}

/// The real gpg, with only the published key imported, finds a good
/// signature by it on every signed index (`VALIDSIG <fingerprint>`).
#[test]
fn gpg_verifies_the_published_signatures_with_the_published_key() {
    install_tools(&["gnupg"]);
    let world = World::demo();
    let sandbox = world.sandbox();
    let fetch = |url: &str| -> Vec<u8> {
        world.runtime.block_on(async {
            let response = reqwest::get(url).await.unwrap();
            assert!(
                response.status().is_success(),
                "{url}: {}",
                response.status()
            );
            response.bytes().await.unwrap().to_vec()
        })
    };
    let key = world.path("published.asc");
    std::fs::write(&key, fetch(&sandbox.signing_key_url())).unwrap();
    let rpm = repository_url(&world, DEMO_RPM_REPOSITORY);
    let deb = repository_url(&world, DEMO_DEB_REPOSITORY);
    let files = [
        ("repomd.xml", format!("{rpm}/repodata/repomd.xml")),
        ("repomd.xml.asc", format!("{rpm}/repodata/repomd.xml.asc")),
        ("InRelease", format!("{deb}/InRelease")),
        ("Release", format!("{deb}/Release")),
        ("Release.gpg", format!("{deb}/Release.gpg")),
    ];
    for (name, url) in &files {
        std::fs::write(world.path(name), fetch(url)).unwrap();
    }
    let fingerprint = sandbox.signing_fingerprint();
    let verify = gpg::Verifier::new(world.dir.path(), &key);
    for signed in [
        vec!["repomd.xml.asc", "repomd.xml"],
        vec!["InRelease"],
        vec!["Release.gpg", "Release"],
    ] {
        let paths: Vec<_> = signed.iter().map(|f| world.path(f)).collect();
        let status = verify.status(&paths);
        let valid = status
            .lines()
            .any(|l| l.starts_with(&format!("[GNUPG:] VALIDSIG {fingerprint} ")));
        assert!(valid, "{signed:?}: VALIDSIG {fingerprint} in:\n{status}");
    }

    // A changed byte is a bad signature to gpg too.
    let repomd = world.path("repomd.xml");
    let text = std::fs::read_to_string(&repomd).unwrap();
    std::fs::write(&repomd, text.replace("<revision>", "<revision>1")).unwrap();
    let status = verify.status(&[world.path("repomd.xml.asc"), repomd]);
    assert!(status.contains("[GNUPG:] BADSIG"), "{status}");
}
