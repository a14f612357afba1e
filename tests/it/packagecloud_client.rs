//! `PackagecloudClient` against the Packagecloud emulator over real HTTP, one test
//! per behaviour: complete listings (parallel pages, failed pages, a collection
//! that changes while paging, the `rel="next"` fallback), distributions, uploads
//! (renaming, verification, duplicates, lost answers, rate limits, resets),
//! deletes, search, and auth errors that never show the token. At the end, the
//! emulator's answers that `sandbox_emulators.rs` does not check yet.

use base64::Engine;
use pkgsync::config::{PackagecloudTarget, Secret, TokenSource};
use pkgsync::http::{HttpClient, RetryPolicy};
use pkgsync::model::{ArtifactKey, PackageType};
use pkgsync::packagecloud::{
    DeleteOutcome, DistroError, PackagecloudClient, PackagecloudError, UploadOutcome,
};
use pkgsync_sandbox::packages::{build_rpm, simple_deb, simple_rpm};
use pkgsync_sandbox::{
    DuplicateWording, Fault, FaultRule, PackagecloudEmulator, PackagecloudSeed, RecordedRequest,
    Seed,
};
use sha2::Digest;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";
const WRONG_TOKEN: &str = "fedcba9876543210fedcba9876543210fedcba9876543210";
const REPO: &str = "user/repo";
const MAX_ATTEMPTS: u32 = 3;

// ------------------------------------------------------------------- Harness

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: MAX_ATTEMPTS,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(20),
        ..RetryPolicy::default()
    }
}

fn seed() -> PackagecloudSeed {
    let mut seed = PackagecloudSeed {
        token: Some(TOKEN.into()),
        ..Default::default()
    };
    seed.repo(REPO);
    seed
}

/// 600 rpms `pkg-{i}-1.0-1.x86_64.rpm` in `el/9`: more than two full pages of 250.
/// Built once and shared, since building rpms is the slow part.
fn six_hundred() -> PackagecloudSeed {
    static SEED: OnceLock<PackagecloudSeed> = OnceLock::new();
    SEED.get_or_init(|| {
        let mut all = Seed::empty();
        all.packagecloud = seed();
        all.packagecloud_rpms(REPO, "el/9", "pkg", 600).unwrap();
        all.packagecloud
    })
    .clone()
}

async fn emulator(seed: PackagecloudSeed) -> PackagecloudEmulator {
    PackagecloudEmulator::start(seed).await.unwrap()
}

fn target(pc: &PackagecloudEmulator, repo: &str, token: Option<&str>) -> PackagecloudTarget {
    PackagecloudTarget {
        url: pc.url().to_string(),
        repo: repo.to_string(),
        token: token.map(Secret::new),
        token_source: TokenSource::Environment,
    }
}

fn client(pc: &PackagecloudEmulator) -> PackagecloudClient {
    PackagecloudClient::new(
        HttpClient::new(fast_retries()),
        &target(pc, REPO, Some(TOKEN)),
    )
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A package file on disk under `local_name` (which need not be its real name).
struct LocalFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
    sha256: String,
}

fn local_file(local_name: &str, bytes: &[u8]) -> LocalFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(local_name);
    std::fs::write(&path, bytes).unwrap();
    LocalFile {
        _dir: dir,
        path,
        sha256: sha256(bytes),
    }
}

fn hello_rpm() -> Vec<u8> {
    simple_rpm("hello", "1.0", "1", "x86_64").unwrap()
}

fn hello_key() -> ArtifactKey {
    ArtifactKey::new("el/9", "hello-1.0-1.x86_64.rpm")
}

/// The same canonical name as [`hello_rpm`], other contents: a rebuild.
fn hello_rpm_rebuilt() -> Vec<u8> {
    build_rpm(
        "hello",
        "1.0",
        "1",
        "x86_64",
        &[("/usr/share/hello/VERSION", b"rebuilt\n")],
    )
    .unwrap()
}

fn requests_to(pc: &PackagecloudEmulator, method: &str, path_end: &str) -> Vec<RecordedRequest> {
    pc.requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.ends_with(path_end))
        .collect()
}

/// A query parameter of a recorded request.
fn param(request: &RecordedRequest, name: &str) -> Option<String> {
    url::form_urlencoded::parse(request.query.as_deref().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Display and Debug of an error and of everything in its source chain.
fn error_chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error}\n{error:?}");
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(&format!("\n{e}\n{e:?}"));
        source = e.source();
    }
    text
}

/// Unwraps an error and checks that no form of either token appears in it.
#[track_caller]
fn expect_err<T: std::fmt::Debug>(result: Result<T, PackagecloudError>) -> PackagecloudError {
    let error = result.expect_err("expected an error");
    let text = error_chain_text(&error);
    for token in [TOKEN, WRONG_TOKEN] {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{token}:"));
        assert!(!text.contains(token), "the token leaked:\n{text}");
        assert!(
            !text.contains(&basic),
            "the Basic credentials leaked:\n{text}"
        );
        assert!(
            !text.contains(&token[..16]),
            "part of a token leaked:\n{text}"
        );
    }
    error
}

// ------------------------------------------------------------------- Listing

#[tokio::test]
async fn lists_more_than_250_packages_completely_page_one_first() {
    let pc = emulator(six_hundred()).await;
    let inventory = client(&pc).list().await.unwrap();

    let stored = pc.packages(REPO);
    assert_eq!(stored.len(), 600);
    assert_eq!(inventory.packages.len(), 600);
    for package in &stored {
        let key = ArtifactKey::new(&package.distro_version, &package.filename);
        let listed = &inventory.packages[&key];
        assert_eq!(listed.sha256.as_deref(), Some(package.sha256.as_str()));
        assert_eq!(listed.package_type, "rpm");
    }

    let listings = requests_to(&pc, "GET", "/packages.json");
    assert_eq!(listings.len(), 3, "{listings:?}");
    assert_eq!(param(&listings[0], "page"), None, "page 1 comes first");
    let later: BTreeSet<String> = listings[1..]
        .iter()
        .map(|r| param(r, "page").unwrap())
        .collect();
    assert_eq!(later, BTreeSet::from(["2".to_string(), "3".to_string()]));
    for request in &listings {
        assert_eq!(param(request, "per_page").as_deref(), Some("250"));
    }
    pc.shutdown().await;
}

#[tokio::test]
async fn a_page_failing_beyond_the_retry_budget_fails_the_listing() {
    let pc = emulator(six_hundred()).await;
    // `?page=2&`, not `page=2`: that would also match `per_page=250`.
    pc.set_faults(vec![
        FaultRule::new("?page=2&", Fault::Status(500))
            .method("GET")
            .times(10),
    ]);
    let error = expect_err(client(&pc).list().await);
    let PackagecloudError::Incomplete { repo, detail } = &error else {
        panic!("expected Incomplete, got {error:?}");
    };
    assert_eq!(repo, REPO);
    assert!(detail.contains("page 2"), "{detail}");
    assert!(detail.contains("500"), "{detail}");
    assert!(error.to_string().contains("refusing to go on"), "{error}");
    let page_two = requests_to(&pc, "GET", "/packages.json")
        .into_iter()
        .filter(|r| param(r, "page").as_deref() == Some("2"))
        .count();
    assert_eq!(page_two, MAX_ATTEMPTS as usize, "retried up to the budget");
    pc.shutdown().await;
}

#[tokio::test]
async fn a_page_failing_once_is_retried() {
    let pc = emulator(six_hundred()).await;
    pc.set_faults(vec![
        FaultRule::new("?page=3&", Fault::Status(503)).method("GET"),
    ]);
    assert_eq!(client(&pc).list().await.unwrap().packages.len(), 600);
    pc.shutdown().await;
}

#[tokio::test]
async fn a_package_added_while_paging_fails_the_listing() {
    let pc = emulator(six_hundred()).await;
    // Stored just before page 2 is served: page 1 said 600, page 2 says 601.
    pc.insert_before_page(
        REPO,
        2,
        "el/9",
        simple_rpm("late", "1.0", "1", "x86_64").unwrap(),
    )
    .unwrap();
    let error = expect_err(client(&pc).list().await);
    let PackagecloudError::Incomplete { detail, .. } = &error else {
        panic!("expected Incomplete, got {error:?}");
    };
    assert!(
        detail.contains("the total changed from 600 to 601"),
        "{detail}"
    );
    assert_eq!(pc.packages(REPO).len(), 601);
    pc.shutdown().await;
}

#[tokio::test]
async fn a_package_removed_while_paging_fails_the_listing() {
    let pc = emulator(six_hundred()).await;
    // Removing a package of page 1 shifts later pages: one would go unseen.
    pc.remove_before_page(REPO, 3, "el/9", "pkg-0-1.0-1.x86_64.rpm");
    let error = expect_err(client(&pc).list().await);
    let PackagecloudError::Incomplete { detail, .. } = &error else {
        panic!("expected Incomplete, got {error:?}");
    };
    assert!(
        detail.contains("the total changed from 600 to 599"),
        "{detail}"
    );
    pc.shutdown().await;
}

#[tokio::test]
async fn without_counts_the_listing_follows_next_links() {
    let pc = emulator(six_hundred()).await;
    pc.set_count_headers(false);

    // The switch: no counts, the Link header stays.
    let raw = reqwest::Client::new()
        .get(format!("{}/api/v1/repos/{REPO}/packages.json", pc.url()))
        .basic_auth(TOKEN, Some(""))
        .send()
        .await
        .unwrap();
    for header in ["total", "per-page", "max-per-page"] {
        assert!(raw.headers().get(header).is_none(), "{header} still sent");
    }
    assert!(
        raw.headers()["link"]
            .to_str()
            .unwrap()
            .contains("rel=\"next\"")
    );
    pc.clear_requests();

    let inventory = client(&pc).list().await.unwrap();
    assert_eq!(inventory.packages.len(), 600);
    let pages: Vec<Option<String>> = requests_to(&pc, "GET", "/packages.json")
        .iter()
        .map(|r| param(r, "page"))
        .collect();
    assert_eq!(
        pages,
        [None, Some("2".to_string()), Some("3".to_string())],
        "one page after the other, by `next`"
    );
    pc.shutdown().await;
}

#[tokio::test]
async fn without_counts_a_failed_page_still_fails_the_listing() {
    let pc = emulator(six_hundred()).await;
    pc.set_count_headers(false);
    pc.set_faults(vec![
        FaultRule::new("?page=3&", Fault::Status(502))
            .method("GET")
            .times(10),
    ]);
    let error = expect_err(client(&pc).list().await);
    assert!(
        matches!(&error, PackagecloudError::Incomplete { detail, .. } if detail.contains("page 3")),
        "{error:?}"
    );
    pc.shutdown().await;
}

#[tokio::test]
async fn an_empty_and_a_small_repository_list_in_one_request() {
    let mut small = seed();
    small.repo("user/empty");
    small.package(
        REPO,
        "ubuntu/jammy",
        simple_deb("tool", "2.0-1", "amd64").unwrap(),
    );
    let pc = emulator(small).await;
    let empty = PackagecloudClient::new(
        HttpClient::new(fast_retries()),
        &target(&pc, "user/empty", Some(TOKEN)),
    );
    assert!(empty.list().await.unwrap().packages.is_empty());
    let inventory = client(&pc).list().await.unwrap();
    let key = ArtifactKey::new("ubuntu/jammy", "tool_2.0-1_amd64.deb");
    assert_eq!(inventory.packages[&key].package_type, "deb");
    assert_eq!(requests_to(&pc, "GET", "/packages.json").len(), 2);

    let missing = PackagecloudClient::new(
        HttpClient::new(fast_retries()),
        &target(&pc, "user/nope", Some(TOKEN)),
    );
    let error = expect_err(missing.list().await);
    assert!(
        matches!(&error, PackagecloudError::NoRepository { repo } if repo == "user/nope"),
        "{error:?}"
    );
    pc.shutdown().await;
}

// ------------------------------------------------------------- Distributions

#[tokio::test]
async fn distributions_map_by_index_name_and_by_version_number() {
    let pc = emulator(seed()).await;
    let index = client(&pc).distributions().await.unwrap();

    let jammy = index.resolve("ubuntu/jammy", PackageType::Deb).unwrap();
    assert_eq!(jammy, 237);
    assert_eq!(
        index.resolve("ubuntu/22.04", PackageType::Deb).unwrap(),
        jammy
    );
    assert_eq!(index.canonical("ubuntu/22.04"), Some("ubuntu/jammy"));
    assert_eq!(Some(jammy), pc.distro_version_id("ubuntu/jammy"));
    assert_eq!(index.resolve("debian/12.0", PackageType::Deb).unwrap(), 215);
    assert_eq!(index.resolve("el/9", PackageType::Rpm).unwrap(), 240);
    assert_eq!(index.resolve("el/7.0", PackageType::Rpm).unwrap(), 140);
    assert_eq!(index.resolve("fedora/39", PackageType::Rpm).unwrap(), 279);
    assert_eq!(
        index.resolve("opensuse/15.5", PackageType::Rpm).unwrap(),
        272
    );
    assert_eq!(index.resolve("any/any", PackageType::Deb).unwrap(), 35);
    pc.shutdown().await;
}

#[tokio::test]
async fn unknown_distros_and_wrong_types_name_the_closest_choices() {
    let pc = emulator(seed()).await;
    let index = client(&pc).distributions().await.unwrap();

    let unknown = index
        .resolve("ubuntu/jammmy", PackageType::Deb)
        .unwrap_err();
    let DistroError::Unknown { closest, .. } = &unknown else {
        panic!("{unknown:?}")
    };
    assert_eq!(closest[0], "ubuntu/jammy");
    assert!(
        unknown.to_string().starts_with(
            "Packagecloud has no distribution `ubuntu/jammmy`; closest: `ubuntu/jammy`"
        ),
        "{unknown}"
    );

    let wrong = index.resolve("ubuntu/22.04", PackageType::Rpm).unwrap_err();
    let DistroError::WrongType {
        accepts, closest, ..
    } = &wrong
    else {
        panic!("{wrong:?}")
    };
    assert!(accepts.contains(&"deb".to_string()), "{accepts:?}");
    assert!(!closest.is_empty());
    for choice in closest {
        // Suggestions for an rpm are rpm distros.
        assert!(
            index.resolve(choice, PackageType::Rpm).is_ok(),
            "{choice} takes no rpm"
        );
    }
    assert!(
        wrong.to_string().contains("does not take rpm packages"),
        "{wrong}"
    );
    pc.shutdown().await;
}

// ------------------------------------------------------------------- Uploads

#[tokio::test]
async fn upload_is_stored_under_the_canonical_name_and_verified() {
    let pc = emulator(seed()).await;
    let client = client(&pc);
    let index = client.distributions().await.unwrap();
    let bytes = hello_rpm();
    // The local name does not matter: the server names the file.
    let file = local_file("download-3f7a.tmp", &bytes);
    let id = index.resolve("el/9", PackageType::Rpm).unwrap();
    let outcome = client
        .upload(&file.path, id, &hello_key(), &file.sha256)
        .await
        .unwrap();
    assert_eq!(outcome, UploadOutcome::Created);

    let deb = simple_deb("tool", "2.0-1", "amd64").unwrap();
    let deb_file = local_file("tool.deb", &deb);
    let jammy = index.resolve("ubuntu/22.04", PackageType::Deb).unwrap();
    let deb_key = ArtifactKey::new("ubuntu/jammy", "tool_2.0-1_amd64.deb");
    assert_eq!(
        client
            .upload(&deb_file.path, jammy, &deb_key, &deb_file.sha256)
            .await
            .unwrap(),
        UploadOutcome::Created
    );

    let stored = pc.packages(REPO);
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].filename, "hello-1.0-1.x86_64.rpm");
    assert_eq!(stored[0].distro_version, "el/9");
    assert_eq!(stored[0].sha256, file.sha256);
    assert_eq!(stored[1].filename, "tool_2.0-1_amd64.deb");
    assert_eq!(
        pc.package_bytes(REPO, "el/9", "hello-1.0-1.x86_64.rpm")
            .unwrap(),
        bytes
    );
    assert_eq!(pc.uploads_stored(), 2);
    assert_eq!(requests_to(&pc, "POST", "/packages.json").len(), 2);
    pc.shutdown().await;
}

#[tokio::test]
async fn a_file_whose_metadata_names_another_file_is_refused_before_sending() {
    let pc = emulator(seed()).await;
    let other = simple_rpm("other", "2.0", "1", "x86_64").unwrap();
    let file = local_file("hello-1.0-1.x86_64.rpm", &other);
    let id = pc.distro_version_id("el/9").unwrap();
    let error = expect_err(
        client(&pc)
            .upload(&file.path, id, &hello_key(), &file.sha256)
            .await,
    );
    assert!(
        matches!(error, PackagecloudError::NotThePlannedFile { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("el/9/hello-1.0-1.x86_64.rpm"), "{message}");
    assert!(message.contains("other-2.0-1.x86_64.rpm"), "{message}");

    let garbage = local_file("hello-1.0-1.x86_64.rpm", b"not a package");
    let error = expect_err(
        client(&pc)
            .upload(&garbage.path, id, &hello_key(), &garbage.sha256)
            .await,
    );
    assert!(
        error.to_string().contains("not a readable package"),
        "{error}"
    );
    assert!(requests_to(&pc, "POST", "/packages.json").is_empty());
    assert!(pc.packages(REPO).is_empty());
    pc.shutdown().await;
}

#[tokio::test]
async fn a_201_with_another_checksum_is_verify_failed() {
    let pc = emulator(seed()).await;
    let file = local_file("hello.rpm", &hello_rpm());
    let id = pc.distro_version_id("el/9").unwrap();
    let expected = "0".repeat(64);
    let error = expect_err(
        client(&pc)
            .upload(&file.path, id, &hello_key(), &expected)
            .await,
    );
    let PackagecloudError::VerifyFailed {
        stored_filename,
        stored_sha256,
        expected_filename,
        expected_sha256,
        ..
    } = &error
    else {
        panic!("expected VerifyFailed, got {error:?}");
    };
    assert_eq!(stored_filename, "hello-1.0-1.x86_64.rpm");
    assert_eq!(expected_filename, "hello-1.0-1.x86_64.rpm");
    assert_eq!(stored_sha256, &file.sha256);
    assert_eq!(expected_sha256, &expected);
    let message = error.to_string();
    assert!(
        message.contains(&file.sha256) && message.contains(&expected),
        "{message}"
    );
    pc.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_with_the_same_content_is_already_present_in_both_wordings() {
    let pc = emulator(seed()).await;
    let bytes = hello_rpm();
    pc.insert_package(REPO, "el/9", bytes.clone()).unwrap();
    let file = local_file("hello.rpm", &bytes);
    let id = pc.distro_version_id("el/9").unwrap();
    let client = client(&pc);

    for wording in [
        DuplicateWording::FilenameTaken,
        DuplicateWording::FullNameExists,
    ] {
        pc.set_duplicate_wording(wording);
        let outcome = client
            .upload(&file.path, id, &hello_key(), &file.sha256)
            .await
            .unwrap();
        assert_eq!(outcome, UploadOutcome::AlreadyPresent, "{wording:?}");
    }
    assert_eq!(pc.upload_attempts(), 2, "each wording was a real 422");
    assert_eq!(pc.uploads_stored(), 0);
    assert_eq!(requests_to(&pc, "GET", "/search.json").len(), 2);
    assert_eq!(pc.packages(REPO).len(), 1);
    pc.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_with_other_content_is_a_conflict_in_both_wordings() {
    let pc = emulator(seed()).await;
    let theirs = hello_rpm_rebuilt();
    pc.insert_package(REPO, "el/9", theirs.clone()).unwrap();
    let file = local_file("hello.rpm", &hello_rpm());
    let id = pc.distro_version_id("el/9").unwrap();
    let client = client(&pc);

    for wording in [
        DuplicateWording::FilenameTaken,
        DuplicateWording::FullNameExists,
    ] {
        pc.set_duplicate_wording(wording);
        let error = expect_err(
            client
                .upload(&file.path, id, &hello_key(), &file.sha256)
                .await,
        );
        let PackagecloudError::Conflict { key, stored, ours } = &error else {
            panic!("expected Conflict, got {error:?}");
        };
        assert_eq!(key, &hello_key());
        assert_eq!(stored, &sha256(&theirs));
        assert_eq!(ours, &file.sha256);
    }
    assert_eq!(
        pc.package_bytes(REPO, "el/9", "hello-1.0-1.x86_64.rpm")
            .unwrap(),
        theirs,
        "the stored file is untouched"
    );
    pc.shutdown().await;
}

#[tokio::test]
async fn a_distro_refusing_the_package_type_is_rejected_with_packagecloud_text() {
    let pc = emulator(seed()).await;
    let file = local_file("hello.rpm", &hello_rpm());
    let jammy = pc.distro_version_id("ubuntu/jammy").unwrap();
    let key = ArtifactKey::new("ubuntu/jammy", "hello-1.0-1.x86_64.rpm");
    let error = expect_err(
        client(&pc)
            .upload(&file.path, jammy, &key, &file.sha256)
            .await,
    );
    let PackagecloudError::Rejected { message, .. } = &error else {
        panic!("expected Rejected, got {error:?}");
    };
    assert_eq!(
        message,
        "repository: The specified distro does not support the package you've tried to upload"
    );
    assert!(error.to_string().contains("(422)"), "{error}");
    assert!(pc.packages(REPO).is_empty());
    pc.shutdown().await;
}

#[tokio::test]
async fn stored_but_answered_500_counts_as_done_without_a_second_copy() {
    let pc = emulator(seed()).await;
    pc.set_faults(vec![
        FaultRule::new("/packages.json", Fault::StoreThenStatus(500)).method("POST"),
    ]);
    let file = local_file("hello.rpm", &hello_rpm());
    let id = pc.distro_version_id("el/9").unwrap();
    let client = client(&pc);
    let outcome = client
        .upload(&file.path, id, &hello_key(), &file.sha256)
        .await
        .unwrap();
    assert_eq!(outcome, UploadOutcome::AlreadyPresent);
    assert_eq!(pc.uploads_stored(), 1);
    assert_eq!(
        requests_to(&pc, "POST", "/packages.json").len(),
        1,
        "found by search, not sent again"
    );
    let inventory = client.list().await.unwrap();
    assert_eq!(inventory.packages.len(), 1);
    assert_eq!(
        inventory.packages[&hello_key()].sha256.as_deref(),
        Some(file.sha256.as_str())
    );
    pc.shutdown().await;
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after_then_uploads() {
    let pc = emulator(seed()).await;
    pc.set_faults(vec![
        FaultRule::new(
            "/packages.json",
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
        )
        .method("POST"),
    ]);
    let file = local_file("hello.rpm", &hello_rpm());
    let id = pc.distro_version_id("el/9").unwrap();
    let started = Instant::now();
    let outcome = client(&pc)
        .upload(&file.path, id, &hello_key(), &file.sha256)
        .await
        .unwrap();
    assert_eq!(outcome, UploadOutcome::Created);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured: {:?}",
        started.elapsed()
    );
    assert_eq!(requests_to(&pc, "POST", "/packages.json").len(), 2);
    assert_eq!(pc.uploads_stored(), 1);
    pc.shutdown().await;
}

#[tokio::test]
async fn a_connection_reset_on_upload_is_retried_without_duplicates() {
    let pc = emulator(seed()).await;
    pc.set_faults(vec![
        FaultRule::new("/packages.json", Fault::Reset).method("POST"),
    ]);
    let file = local_file("hello.rpm", &hello_rpm());
    let id = pc.distro_version_id("el/9").unwrap();
    let outcome = client(&pc)
        .upload(&file.path, id, &hello_key(), &file.sha256)
        .await
        .unwrap();
    assert_eq!(outcome, UploadOutcome::Created);
    assert_eq!(requests_to(&pc, "POST", "/packages.json").len(), 2);
    assert_eq!(
        requests_to(&pc, "GET", "/search.json").len(),
        1,
        "looked up before sending again"
    );
    assert_eq!(pc.uploads_stored(), 1);
    assert_eq!(pc.packages(REPO).len(), 1);
    pc.shutdown().await;
}

#[tokio::test]
async fn server_errors_on_every_upload_attempt_give_up_after_the_budget() {
    let pc = emulator(seed()).await;
    pc.set_faults(vec![
        FaultRule::new("/packages.json", Fault::Status(503))
            .method("POST")
            .times(10),
    ]);
    let file = local_file("hello.rpm", &hello_rpm());
    let id = pc.distro_version_id("el/9").unwrap();
    let error = expect_err(
        client(&pc)
            .upload(&file.path, id, &hello_key(), &file.sha256)
            .await,
    );
    assert!(error.to_string().contains("503"), "{error}");
    assert_eq!(
        requests_to(&pc, "POST", "/packages.json").len(),
        MAX_ATTEMPTS as usize
    );
    assert!(pc.packages(REPO).is_empty());
    pc.shutdown().await;
}

// ------------------------------------------------------------ Delete and find

#[tokio::test]
async fn delete_then_already_gone() {
    let pc = emulator(seed()).await;
    // `+` and `~` must survive the path encoding.
    let name = pc
        .insert_package(
            REPO,
            "el/9",
            simple_rpm("a+b", "1.0~rc1", "1", "x86_64").unwrap(),
        )
        .unwrap();
    assert_eq!(name, "a+b-1.0~rc1-1.x86_64.rpm");
    let key = ArtifactKey::new("el/9", &name);
    let client = client(&pc);
    assert_eq!(client.delete(&key).await.unwrap(), DeleteOutcome::Deleted);
    assert!(pc.packages(REPO).is_empty());
    assert_eq!(
        client.delete(&key).await.unwrap(),
        DeleteOutcome::AlreadyGone
    );

    let missing = PackagecloudClient::new(
        HttpClient::new(fast_retries()),
        &target(&pc, "user/nope", Some(TOKEN)),
    );
    let error = expect_err(missing.delete(&key).await);
    assert!(
        matches!(error, PackagecloudError::NoRepository { .. }),
        "a missing repository is not `already gone`: {error:?}"
    );
    pc.shutdown().await;
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_counts_as_gone() {
    let pc = emulator(seed()).await;
    pc.insert_package(REPO, "el/9", hello_rpm()).unwrap();
    // Deleted, then answered 500: the retry finds nothing left to delete.
    pc.set_faults(vec![
        FaultRule::new("hello-1.0-1.x86_64.rpm", Fault::StoreThenStatus(500)).method("DELETE"),
    ]);
    let outcome = client(&pc).delete(&hello_key()).await.unwrap();
    assert_eq!(outcome, DeleteOutcome::AlreadyGone);
    assert!(pc.packages(REPO).is_empty());
    assert_eq!(requests_to(&pc, "DELETE", ".rpm").len(), 2);
    pc.shutdown().await;
}

#[tokio::test]
async fn find_uses_search_and_follows_its_pages() {
    let mut many = seed();
    // 255 packages whose names contain `hello-1.0-1.x86_64.rpm`, then that one:
    // the search for it has two pages of 250, and it is on the second.
    for i in 0..255 {
        many.package(
            REPO,
            "el/9",
            simple_rpm(&format!("x{i}-hello"), "1.0", "1", "x86_64").unwrap(),
        );
    }
    let bytes = hello_rpm();
    many.package(REPO, "el/9", bytes.clone());
    many.package(
        REPO,
        "el/8",
        simple_rpm("only8", "1.0", "1", "x86_64").unwrap(),
    );
    let pc = emulator(many).await;
    let client = client(&pc);

    let found = client.find(&hello_key()).await.unwrap().unwrap();
    assert_eq!(found.key, hello_key());
    assert_eq!(found.sha256.as_deref(), Some(sha256(&bytes).as_str()));
    let searches = requests_to(&pc, "GET", "/search.json");
    assert_eq!(searches.len(), 2, "{searches:?}");
    assert_eq!(
        param(&searches[0], "q").as_deref(),
        Some("hello-1.0-1.x86_64.rpm")
    );
    assert_eq!(param(&searches[0], "dist").as_deref(), Some("el/9"));
    assert_eq!(param(&searches[1], "page").as_deref(), Some("2"));

    let in_other_distro = ArtifactKey::new("el/9", "only8-1.0-1.x86_64.rpm");
    assert_eq!(client.find(&in_other_distro).await.unwrap(), None);
    let absent = ArtifactKey::new("el/9", "absent-1.0-1.x86_64.rpm");
    assert_eq!(client.find(&absent).await.unwrap(), None);
    pc.shutdown().await;
}

// ---------------------------------------------------------------------- Auth

#[tokio::test]
async fn unauthorized_names_the_token_source_and_never_the_token() {
    let pc = emulator(seed()).await;
    pc.insert_package(REPO, "el/9", hello_rpm()).unwrap();
    let file = local_file("hello.rpm", &hello_rpm());
    let config_path = Path::new("/home/user/.config/pkgsync/config.yaml");
    let sources = [
        (TokenSource::Environment, "`PACKAGECLOUD_TOKEN`"),
        (
            TokenSource::ConfigFile(config_path.to_path_buf()),
            "/home/user/.config/pkgsync/config.yaml",
        ),
        (
            TokenSource::PackagecloudFile("/home/user/.packagecloud".into()),
            "/home/user/.packagecloud",
        ),
    ];
    for (source, shown) in sources {
        let mut wrong = target(&pc, REPO, Some(WRONG_TOKEN));
        wrong.token_source = source.clone();
        let client = PackagecloudClient::new(HttpClient::new(fast_retries()), &wrong);
        let errors = [
            expect_err(client.list().await),
            expect_err(client.distributions().await.map(|_| ())),
            expect_err(client.find(&hello_key()).await),
            expect_err(client.delete(&hello_key()).await),
            expect_err(
                client
                    .upload(&file.path, 240, &hello_key(), &file.sha256)
                    .await,
            ),
        ];
        for error in errors {
            let PackagecloudError::Unauthorized { source_of_token } = &error else {
                panic!("expected Unauthorized, got {error:?}");
            };
            assert_eq!(source_of_token, &source);
            assert!(error.to_string().contains(shown), "{error}");
            assert!(error.to_string().contains("401"), "{error}");
        }
    }
    assert_eq!(pc.packages(REPO).len(), 1, "nothing changed");
    // A 401 is final: no retries.
    assert_eq!(requests_to(&pc, "GET", "/packages.json").len(), 3);
    pc.shutdown().await;
}

#[tokio::test]
async fn no_token_is_an_error_before_any_request() {
    let pc = emulator(seed()).await;
    let mut none = target(&pc, REPO, None);
    none.token_source = TokenSource::Missing;
    let client = PackagecloudClient::new(HttpClient::new(fast_retries()), &none);
    let error = expect_err(client.list().await);
    assert!(matches!(error, PackagecloudError::NoToken), "{error:?}");
    assert!(error.to_string().contains("PACKAGECLOUD_TOKEN"), "{error}");
    assert!(pc.requests().is_empty());
    pc.shutdown().await;
}

#[tokio::test]
async fn the_client_debug_output_hides_the_token() {
    let pc = emulator(seed()).await;
    let shown = format!("{:?}", client(&pc));
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("***"), "{shown}");
    pc.shutdown().await;
}

// ------------------------------------------------- Emulator vs the reference

/// PackageFragment keys in the order of the reference's live example (3.1).
const FRAGMENT_KEYS: [&str; 22] = [
    "name",
    "distro_version",
    "created_at",
    "version",
    "release",
    "epoch",
    "scope",
    "private",
    "type",
    "filename",
    "uploader_name",
    "indexed",
    "sha256sum",
    "repository_html_url",
    "package_url",
    "downloads_detail_url",
    "downloads_series_url",
    "downloads_count_url",
    "package_html_url",
    "download_url",
    "promote_url",
    "destroy_url",
];

/// PackageDetails keys in the order of the reference's verbatim example (3.2).
const DETAILS_KEYS: [&str; 34] = [
    "name",
    "distro_version",
    "architecture",
    "repository",
    "size",
    "summary",
    "filename",
    "description",
    "dependencies",
    "md5sum",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "private",
    "uploader_name",
    "created_at",
    "licenses",
    "version",
    "release",
    "epoch",
    "indexed",
    "repository_url",
    "repository_html_url",
    "package_url",
    "versions_url",
    "promote_url",
    "total_downloads_count",
    "download_url",
    "package_html_url",
    "downloads_detail_url",
    "downloads_series_url",
    "downloads_count_url",
    "destroy_url",
    "self_url",
];

/// The keys of a JSON object in the order they were sent (`serde_json::Map` would
/// sort them).
struct KeysInOrder(Vec<String>);

impl<'de> serde::Deserialize<'de> for KeysInOrder {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = KeysInOrder;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<KeysInOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some((key, _)) = map.next_entry::<String, serde::de::IgnoredAny>()? {
                    keys.push(key);
                }
                Ok(KeysInOrder(keys))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

fn keys_in_order(json: &str) -> Vec<String> {
    serde_json::from_str::<KeysInOrder>(json).unwrap().0
}

fn raw(method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, url)
        .basic_auth(TOKEN, Some(""))
}

async fn raw_upload(
    pc: &PackagecloudEmulator,
    path: &str,
    id: u64,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("package[distro_version_id]", id.to_string())
        .part(
            "package[package_file]",
            reqwest::multipart::Part::bytes(bytes).file_name("upload.bin"),
        );
    raw(reqwest::Method::POST, format!("{}{path}", pc.url()))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn emulator_details_have_the_documented_fields_in_order() {
    let pc = emulator(seed()).await;
    let id = pc.distro_version_id("el/9").unwrap();
    let response = raw_upload(
        &pc,
        "/api/v1/repos/user/repo/packages.json",
        id,
        hello_rpm(),
    )
    .await;
    assert_eq!(response.status(), 201);
    let text = response.text().await.unwrap();
    assert_eq!(keys_in_order(&text), DETAILS_KEYS);
    let created: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(created["repository"], "repo");
    assert_eq!(created["repository_url"], "/api/v1/repos/user/repo");
    assert!(created["size"].is_string(), "size is a string");
    assert_eq!(created["self_url"], created["package_url"]);
    assert_eq!(
        created["versions_url"],
        "/api/v1/repos/user/repo/package/rpm/el/9/hello/x86_64/versions.json"
    );

    let url = format!("{}{}", pc.url(), created["package_url"].as_str().unwrap());
    let text = raw(reqwest::Method::GET, url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(keys_in_order(&text), DETAILS_KEYS);
    let details: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(details["sha256sum"], created["sha256sum"]);

    let listing = raw(
        reqwest::Method::GET,
        format!("{}/api/v1/repos/user/repo/packages.json", pc.url()),
    )
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    // One package: the array's only object, as sent.
    let only = listing
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .unwrap();
    assert_eq!(keys_in_order(only), FRAGMENT_KEYS);

    let info = raw(
        reqwest::Method::GET,
        format!("{}/api/v1/repos/user/repo.json", pc.url()),
    )
    .send()
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert_eq!(
        keys_in_order(&info),
        [
            "name",
            "created_at",
            "url",
            "last_push_human",
            "package_count_human",
            "private",
            "fqname"
        ]
    );
    pc.shutdown().await;
}

#[tokio::test]
async fn emulator_routes_work_with_and_without_json_suffix() {
    let mut with_many = seed();
    for i in 0..31 {
        with_many.package(
            REPO,
            "el/9",
            simple_rpm(&format!("p{i}"), "1.0", "1", "x86_64").unwrap(),
        );
    }
    let pc = emulator(with_many).await;
    let base = format!("{}/api/v1/repos/user/repo", pc.url());

    for suffix in ["", ".json"] {
        let response = raw(reqwest::Method::GET, format!("{base}/packages{suffix}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let link = response.headers()["link"].to_str().unwrap().to_string();
        // The Link repeats the path as asked for.
        assert!(
            link.contains(&format!("<{base}/packages{suffix}?page=2>; rel=\"next\"")),
            "{link}"
        );
        assert_eq!(
            response
                .json::<Vec<serde_json::Value>>()
                .await
                .unwrap()
                .len(),
            30
        );

        let info: serde_json::Value = raw(reqwest::Method::GET, format!("{base}{suffix}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info["fqname"], "user/repo");
        assert_eq!(info["name"], "repo");
        assert_eq!(info["package_count_human"], "31 packages");
    }

    let id = pc.distro_version_id("el/9").unwrap();
    let response = raw_upload(&pc, "/api/v1/repos/user/repo/packages", id, hello_rpm()).await;
    assert_eq!(response.status(), 201);
    let details = raw(
        reqwest::Method::GET,
        format!("{base}/package/rpm/el/9/hello/x86_64/1.0/1"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(details.status(), 200);
    pc.shutdown().await;
}

#[tokio::test]
async fn emulator_search_filters_and_links_with_sorted_parameters() {
    let mut mixed = seed();
    for i in 0..12 {
        mixed.package(
            REPO,
            "el/9",
            simple_rpm(&format!("tool{i}"), "1.0", "1", "x86_64").unwrap(),
        );
    }
    mixed.package(
        REPO,
        "el/8",
        simple_rpm("tool-old", "1.0", "1", "x86_64").unwrap(),
    );
    mixed.package(
        REPO,
        "ubuntu/jammy",
        simple_deb("tool", "2.0-1", "amd64").unwrap(),
    );
    let pc = emulator(mixed).await;
    let search = format!("{}/api/v1/repos/user/repo/search.json", pc.url());
    let names = |list: &[serde_json::Value]| -> Vec<String> {
        list.iter()
            .map(|p| p["filename"].as_str().unwrap().to_string())
            .collect()
    };

    let response = raw(
        reqwest::Method::GET,
        format!("{search}?q=tool&dist=el%2F9&filter=rpms&per_page=10"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.headers()["total"], "12");
    let link = response.headers()["link"].to_str().unwrap().to_string();
    // All original parameters, alphabetically sorted, as Rails' api-pagination does.
    assert!(
        link.contains(&format!(
            "<{search}?dist=el%2F9&filter=rpms&page=2&per_page=10&q=tool>; rel=\"next\""
        )),
        "{link}"
    );
    let page: Vec<serde_json::Value> = response.json().await.unwrap();
    assert_eq!(page.len(), 10);
    assert!(page.iter().all(|p| p["distro_version"] == "el/9"));

    let by_distro: Vec<serde_json::Value> = raw(
        reqwest::Method::GET,
        format!("{search}?dist=el&per_page=250"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(by_distro.len(), 13, "`dist=el` takes every el version");

    let debs: Vec<serde_json::Value> = raw(reqwest::Method::GET, format!("{search}?filter=debs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(names(&debs), ["tool_2.0-1_amd64.deb"]);

    let exact: Vec<serde_json::Value> = raw(
        reqwest::Method::GET,
        format!("{search}?q=tool-old-1.0-1.x86_64.rpm"),
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(names(&exact), ["tool-old-1.0-1.x86_64.rpm"]);
    pc.shutdown().await;
}

#[tokio::test]
async fn emulator_fresh_uploads_list_as_not_indexed_for_a_while() {
    let pc = emulator(seed()).await;
    pc.insert_package(
        REPO,
        "el/8",
        simple_rpm("seeded", "1.0", "1", "x86_64").unwrap(),
    )
    .unwrap();
    // The delay is read at listing time: long while we look, then none.
    pc.set_index_delay(Duration::from_secs(3600));
    let id = pc.distro_version_id("el/9").unwrap();
    let response = raw_upload(
        &pc,
        "/api/v1/repos/user/repo/packages.json",
        id,
        hello_rpm(),
    )
    .await;
    assert_eq!(response.status(), 201);
    let indexed = || async {
        let list: Vec<serde_json::Value> = raw(
            reqwest::Method::GET,
            format!("{}/api/v1/repos/user/repo/packages.json", pc.url()),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        list.iter()
            .map(|p| p["indexed"].as_bool().unwrap())
            .collect::<Vec<bool>>()
    };
    assert_eq!(
        indexed().await,
        [true, false],
        "listed at once, not yet indexed"
    );
    pc.set_index_delay(Duration::ZERO);
    assert_eq!(indexed().await, [true, true]);
    pc.shutdown().await;
}

#[tokio::test]
async fn emulator_unknown_repository_is_404_not_found() {
    let pc = emulator(seed()).await;
    let base = format!("{}/api/v1/repos/user/nope", pc.url());
    for (method, url) in [
        (reqwest::Method::GET, format!("{base}/packages.json")),
        (reqwest::Method::GET, format!("{base}/search.json?q=x")),
        (reqwest::Method::GET, format!("{base}.json")),
        (
            reqwest::Method::DELETE,
            format!("{base}/el/9/hello-1.0-1.x86_64.rpm"),
        ),
    ] {
        let response = raw(method.clone(), url.clone()).send().await.unwrap();
        assert_eq!(response.status(), 404, "{method} {url}");
        assert_eq!(
            response.json::<serde_json::Value>().await.unwrap(),
            serde_json::json!({"error": "not_found"}),
            "{method} {url}"
        );
    }
    let id = pc.distro_version_id("el/9").unwrap();
    let response = raw_upload(
        &pc,
        "/api/v1/repos/user/nope/packages.json",
        id,
        hello_rpm(),
    )
    .await;
    assert_eq!(response.status(), 404);
    pc.shutdown().await;
}
