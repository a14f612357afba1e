//! The OBS source (`obs::observe`, `obs::fill_md5`) over HTTP against the OBS
//! emulator: what is asked (one `_result` per project, with the filters the config
//! implies), what comes out (exactly the packages wanted, one origin per file), and
//! every way the answer can be wrong (auth, unknown project, unreachable, malformed,
//! hostile names, changes between listing and md5), which must fail the
//! observation rather than yield a partial inventory.

use md5::{Digest, Md5};
use pkgsync::config::{Config, Environment};
use pkgsync::http::{HttpClient, RetryPolicy};
use pkgsync::model::{ArtifactKey, SourceInventory};
use pkgsync::obs::client::{ObsClient, ObsError};
use pkgsync::obs::inventory::{InventoryError, built};
use pkgsync::obs::{ObsBuildService, SourceError};
use pkgsync_sandbox::demo::{DEMO_OBS_PASSWORD, DEMO_OBS_PROJECT, DEMO_OBS_USER};
use pkgsync_sandbox::obs::BinaryPath;
use pkgsync_sandbox::obs::BuildKey;
use pkgsync_sandbox::{
    CannedAnswer, Fault, FaultRule, ObsEmulator, ObsProject, ObsState, RecordedRequest, Seed,
};
use reqwest::StatusCode;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Every artifact of the demo with the default filters, as
/// `distro/filename <- repository/arch/package`. The noarch rpm and the `_all` deb
/// are built under both arches: one artifact each, from x86_64.
const DEMO_INVENTORY: &[&str] = &[
    "fedora/39/kata-containers-image-3.2.0-1.1.noarch.rpm <- Fedora_39/x86_64/kata-containers-image",
    "fedora/39/kata-linux-container-6.1.52-1.1.aarch64.rpm <- Fedora_39/aarch64/kata-linux-container",
    "fedora/39/kata-linux-container-6.1.52-1.1.x86_64.rpm <- Fedora_39/x86_64/kata-linux-container",
    "fedora/39/kata-linux-container-guest-6.1.52-1.1.aarch64.rpm <- Fedora_39/aarch64/kata-linux-container:guest",
    "fedora/39/kata-linux-container-guest-6.1.52-1.1.x86_64.rpm <- Fedora_39/x86_64/kata-linux-container:guest",
    "fedora/39/kata-runtime-3.2.0-1.1.aarch64.rpm <- Fedora_39/aarch64/kata-runtime",
    "fedora/39/kata-runtime-3.2.0-1.1.x86_64.rpm <- Fedora_39/x86_64/kata-runtime",
    "fedora/39/qemu-kata-8.0.2-1.1.aarch64.rpm <- Fedora_39/aarch64/qemu-kata",
    "fedora/39/qemu-kata-8.0.2-1.1.x86_64.rpm <- Fedora_39/x86_64/qemu-kata",
    "ubuntu/jammy/kata-containers-image_3.2.0-1.1_all.deb <- xUbuntu_22.04/x86_64/kata-containers-image",
    "ubuntu/jammy/kata-linux-container-guest_6.1.52-1.1_amd64.deb <- xUbuntu_22.04/x86_64/kata-linux-container:guest",
    "ubuntu/jammy/kata-linux-container-guest_6.1.52-1.1_arm64.deb <- xUbuntu_22.04/aarch64/kata-linux-container:guest",
    "ubuntu/jammy/kata-linux-container_6.1.52-1.1_amd64.deb <- xUbuntu_22.04/x86_64/kata-linux-container",
    "ubuntu/jammy/kata-linux-container_6.1.52-1.1_arm64.deb <- xUbuntu_22.04/aarch64/kata-linux-container",
    "ubuntu/jammy/kata-runtime_3.2.0-1.1_amd64.deb <- xUbuntu_22.04/x86_64/kata-runtime",
    "ubuntu/jammy/kata-runtime_3.2.0-1.1_arm64.deb <- xUbuntu_22.04/aarch64/kata-runtime",
    "ubuntu/jammy/qemu-kata_8.0.2-1.1_amd64.deb <- xUbuntu_22.04/x86_64/qemu-kata",
    "ubuntu/jammy/qemu-kata_8.0.2-1.1_arm64.deb <- xUbuntu_22.04/aarch64/qemu-kata",
];

/// The demo's OBS side (its credentials required), generated once.
static DEMO: LazyLock<ObsState> = LazyLock::new(|| Seed::demo().obs);

async fn demo_obs() -> ObsEmulator {
    ObsEmulator::start(DEMO.clone()).await.unwrap()
}

/// An HTTP client that retries three times within milliseconds.
fn http() -> HttpClient {
    let retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_elapsed: Duration::from_secs(10),
        ..RetryPolicy::default()
    };
    HttpClient::new(retry)
}

fn client(url: &str) -> ObsClient {
    ObsClient::new(http(), url)
}

/// The OBS source of `config`. (`_client` marks the places that used to pass
/// their own client; the source makes its own from the config's URL.)
fn source(config: &Config) -> ObsBuildService {
    ObsBuildService::new(config, http())
}

async fn observe(_client: &ObsClient, config: &Config) -> Result<SourceInventory, SourceError> {
    let source = source(config);
    let listings = source.fetch().await?;
    source.inventory(&listings, &str::to_string)
}

async fn fill_md5(
    _client: &ObsClient,
    config: &Config,
    inventory: &mut SourceInventory,
    keys: &BTreeSet<ArtifactKey>,
) -> Result<(), SourceError> {
    source(config).fill_md5(inventory, keys).await
}

fn parse(yaml: &str) -> Config {
    Config::parse(
        yaml,
        Path::new("obs-source-test.yaml"),
        &Environment::default(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// A config for `projects` on `url`; `auth` is a YAML flow map or empty for none,
/// `mapping` the body of `distro-mapping`, `extra` more top-level YAML.
fn obs_config(url: &str, auth: &str, projects: &[&str], mapping: &str, extra: &str) -> Config {
    let auth = if auth.is_empty() {
        String::new()
    } else {
        format!("  auth: {auth}\n")
    };
    let projects: String = projects.iter().map(|p| format!("  {p}: {{}}\n")).collect();
    parse(&format!(
        "obs:\n  url: {url}\n{auth}obsprojects:\n{projects}\
         packagecloud:\n  repo: demo/kata\ndistro-mapping:\n{mapping}{extra}"
    ))
}

const DEMO_AUTH: &str = "{user: demo, password: demo-password}";
const DEMO_MAPPING: &str = "  Fedora_39: fedora/39\n  xUbuntu_22.04: ubuntu/jammy\n";

/// The demo project with its credentials and both repositories mapped.
fn demo_config(url: &str, extra: &str) -> Config {
    obs_config(url, DEMO_AUTH, &[DEMO_OBS_PROJECT], DEMO_MAPPING, extra)
}

fn lines(inventory: &SourceInventory) -> Vec<String> {
    inventory
        .artifacts
        .values()
        .map(|a| {
            let o = &built(a).origin;
            assert_eq!(o.filename, a.key.filename);
            format!("{} <- {}/{}/{}", a.key, o.repository, o.arch, o.package)
        })
        .collect()
}

fn demo_lines_where(keep: impl Fn(&str) -> bool) -> Vec<String> {
    DEMO_INVENTORY
        .iter()
        .filter(|l| keep(l))
        .map(|l| l.to_string())
        .collect()
}

fn result_requests(obs: &ObsEmulator) -> Vec<RecordedRequest> {
    obs.requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/_result"))
        .collect()
}

/// The query of the only `_result` request so far.
fn only_result_query(obs: &ObsEmulator) -> String {
    let requests = result_requests(obs);
    assert_eq!(requests.len(), 1, "{requests:#?}");
    requests[0].query.clone().unwrap_or_default()
}

fn origin(repository: &str, arch: &str, package: &str, filename: &str) -> BinaryPath {
    BinaryPath {
        project: DEMO_OBS_PROJECT.into(),
        repository: repository.into(),
        arch: arch.into(),
        package: package.into(),
        filename: filename.into(),
    }
}

/// The error and all its causes, one per line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push('\n');
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

fn obs_error(error: SourceError) -> ObsError {
    match error {
        SourceError::Obs(e) => e,
        other => panic!("expected an OBS error, got: {other}"),
    }
}

#[tokio::test]
async fn demo_inventory_comes_from_one_result_request() {
    let obs = demo_obs().await;
    let inventory = observe(&client(obs.url()), &demo_config(obs.url(), ""))
        .await
        .unwrap();
    assert_eq!(lines(&inventory), DEMO_INVENTORY);

    let paths: Vec<String> = obs.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            format!("/source/{DEMO_OBS_PROJECT}/_meta"),
            format!("/build/{DEMO_OBS_PROJECT}/_result"),
        ],
        "one meta and one _result, no request per package"
    );
    // Nothing narrows the question: every repository and arch are wanted.
    assert_eq!(only_result_query(&obs), "view=binarylist&view=status");

    // Sizes and mtimes are the build area's; md5 is left for fill_md5.
    let image = &inventory.artifacts
        [&ArtifactKey::new("fedora/39", "kata-containers-image-3.2.0-1.1.noarch.rpm")];
    let seeded = &DEMO.projects[DEMO_OBS_PROJECT].builds
        [&BuildKey::new("Fedora_39", "x86_64", "kata-containers-image")]
        .binaries["kata-containers-image-3.2.0-1.1.noarch.rpm"];
    assert_eq!(image.size, Some(seeded.bytes.len() as u64));
    assert_eq!(built(image).mtime, seeded.mtime);
    assert!(inventory.artifacts.values().all(|a| a.md5.is_none()));
    obs.shutdown().await;
}

#[tokio::test]
async fn source_and_debug_packages_are_opt_in_and_metadata_never_an_artifact() {
    let obs = demo_obs().await;
    let client = client(obs.url());
    let both = "filters:\n  source_packages: true\n  debug_packages: true\n";
    let inventory = observe(&client, &demo_config(obs.url(), both))
        .await
        .unwrap();
    let mut expected = demo_lines_where(|_| true);
    expected.extend([
        // The src.rpm under the package and its flavour is one file of one family.
        "fedora/39/kata-linux-container-6.1.52-1.1.src.rpm <- Fedora_39/x86_64/kata-linux-container".to_string(),
        "fedora/39/kata-runtime-3.2.0-1.1.src.rpm <- Fedora_39/x86_64/kata-runtime".to_string(),
        "fedora/39/kata-runtime-debuginfo-3.2.0-1.1.aarch64.rpm <- Fedora_39/aarch64/kata-runtime".to_string(),
        "fedora/39/kata-runtime-debuginfo-3.2.0-1.1.x86_64.rpm <- Fedora_39/x86_64/kata-runtime".to_string(),
    ]);
    expected.sort();
    let mut found = lines(&inventory);
    found.sort();
    assert_eq!(found, expected);

    let sources = "filters:\n  source_packages: true\n";
    let inventory = observe(&client, &demo_config(obs.url(), sources))
        .await
        .unwrap();
    let names: Vec<&str> = inventory
        .artifacts
        .keys()
        .map(|k| k.filename.as_str())
        .collect();
    assert!(names.contains(&"kata-runtime-3.2.0-1.1.src.rpm"));
    assert!(
        !names.iter().any(|n| n.contains("-debuginfo-")),
        "{names:?}"
    );

    // The build areas hold `_buildenv`, `_statistics` and `rpmlint.log` everywhere.
    for name in names {
        assert!(name.ends_with(".rpm") || name.ends_with(".deb"), "{name}");
    }
    obs.shutdown().await;
}

#[tokio::test]
async fn repository_filters_narrow_the_result_request() {
    for filter in [
        "filters:\n  repositories:\n    include: ['Fedora*']\n",
        "filters:\n  repositories:\n    exclude: ['xUbuntu*']\n",
    ] {
        let obs = demo_obs().await;
        let inventory = observe(&client(obs.url()), &demo_config(obs.url(), filter))
            .await
            .unwrap();
        assert_eq!(
            lines(&inventory),
            demo_lines_where(|l| l.starts_with("fedora/")),
            "{filter}"
        );
        assert_eq!(
            only_result_query(&obs),
            "view=binarylist&view=status&repository=Fedora_39"
        );
        obs.shutdown().await;
    }

    // A repository the filters leave out need not be mapped.
    let obs = demo_obs().await;
    let config = obs_config(
        obs.url(),
        DEMO_AUTH,
        &[DEMO_OBS_PROJECT],
        "  Fedora_39: fedora/39\n",
        "filters:\n  repositories:\n    exclude: ['xUbuntu*']\n",
    );
    let inventory = observe(&client(obs.url()), &config).await.unwrap();
    assert_eq!(inventory.artifacts.len(), 9);
    obs.shutdown().await;
}

#[tokio::test]
async fn arch_filters_take_obs_and_debian_names() {
    let x86_64_only = demo_lines_where(|l| l.contains("/x86_64/"));
    for filter in [
        "filters:\n  architectures:\n    include: [x86_64]\n",
        "filters:\n  architectures:\n    include: [amd64]\n",
        "filters:\n  architectures:\n    exclude: [aarch64]\n",
        "filters:\n  architectures:\n    exclude: [arm64]\n",
    ] {
        let obs = demo_obs().await;
        let inventory = observe(&client(obs.url()), &demo_config(obs.url(), filter))
            .await
            .unwrap();
        assert_eq!(lines(&inventory), x86_64_only, "{filter}");
        assert_eq!(
            only_result_query(&obs),
            "view=binarylist&view=status&arch=x86_64",
            "{filter}"
        );
        obs.shutdown().await;
    }

    // Without x86_64 the noarch and `_all` files come from aarch64.
    let obs = demo_obs().await;
    let filter = "filters:\n  architectures:\n    include: [arm64]\n";
    let inventory = observe(&client(obs.url()), &demo_config(obs.url(), filter))
        .await
        .unwrap();
    let found = lines(&inventory);
    assert_eq!(found.len(), 10);
    assert!(found.iter().all(|l| l.contains("/aarch64/")), "{found:#?}");
    assert!(found.contains(
        &"ubuntu/jammy/kata-containers-image_3.2.0-1.1_all.deb <- xUbuntu_22.04/aarch64/kata-containers-image".to_string()
    ));
    assert_eq!(
        only_result_query(&obs),
        "view=binarylist&view=status&arch=aarch64"
    );
    obs.shutdown().await;
}

#[tokio::test]
async fn package_filters_match_flavours_by_base_name() {
    let kernel = |l: &str| l.contains("/kata-linux-container");
    let cases: [(&str, Vec<String>, &str); 4] = [
        (
            "filters:\n  packages:\n    include: [kata-linux-container]\n",
            demo_lines_where(kernel),
            "view=binarylist&view=status&package=kata-linux-container&multibuild=1&locallink=1",
        ),
        (
            "filters:\n  packages:\n    include: ['kata-linux-*']\n",
            demo_lines_where(kernel),
            "view=binarylist&view=status",
        ),
        (
            "filters:\n  packages:\n    exclude: [kata-linux-container]\n",
            demo_lines_where(|l| !kernel(l)),
            "view=binarylist&view=status",
        ),
        (
            "filters:\n  packages:\n    exclude: ['kata-linux-container:guest']\n",
            demo_lines_where(|l| !l.ends_with("/kata-linux-container:guest")),
            "view=binarylist&view=status",
        ),
    ];
    for (filter, expected, query) in cases {
        let obs = demo_obs().await;
        let inventory = observe(&client(obs.url()), &demo_config(obs.url(), filter))
            .await
            .unwrap();
        assert_eq!(lines(&inventory), expected, "{filter}");
        assert_eq!(only_result_query(&obs), query, "{filter}");
        obs.shutdown().await;
    }
}

#[tokio::test]
async fn a_package_the_project_lacks_is_not_an_error() {
    // OBS answers a `package=` naming an unknown package with 404; the project is
    // asked again without `package=`, and the include filter applies locally.
    let obs = demo_obs().await;
    let filter = "filters:\n  packages:\n    include: [kata-runtime, kata-proxy]\n";
    let inventory = observe(&client(obs.url()), &demo_config(obs.url(), filter))
        .await
        .unwrap();
    assert_eq!(
        lines(&inventory),
        demo_lines_where(|l| l.ends_with("/kata-runtime"))
    );
    let queries: Vec<Option<String>> = result_requests(&obs).into_iter().map(|r| r.query).collect();
    assert_eq!(
        queries,
        [
            Some(
                "view=binarylist&view=status&package=kata-runtime&package=kata-proxy&multibuild=1&locallink=1"
                    .to_string()
            ),
            Some("view=binarylist&view=status".to_string()),
        ]
    );
    obs.shutdown().await;
}

/// A second project shaped like the demo's rpm side, with one file of `size` bytes.
fn add_project(state: &mut ObsState, name: &str, repository: &str, size: usize) {
    let p = state.project(name);
    *p = ObsProject::new(name);
    p.repository(repository, &["x86_64"]);
    p.set_binary(
        repository,
        "x86_64",
        "kata-runtime",
        "kata-runtime-3.2.0-1.1.x86_64.rpm",
        vec![7u8; size],
        1_700_000_000,
    );
    p.add_build_metadata(repository, "x86_64", "kata-runtime", 1_700_000_000, true);
}

#[tokio::test]
async fn every_project_gets_exactly_one_result_request() {
    let mut state = DEMO.clone();
    add_project(&mut state, "home:other", "Fedora_39", 10);
    let obs = ObsEmulator::start(state).await.unwrap();
    let filter = "filters:\n  packages:\n    exclude: [kata-runtime]\n";
    let projects = [DEMO_OBS_PROJECT, "home:other"];
    let config = obs_config(obs.url(), DEMO_AUTH, &projects, DEMO_MAPPING, filter);
    observe(&client(obs.url()), &config).await.unwrap();
    let mut paths: Vec<String> = result_requests(&obs).into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/build/home:katacontainers:releases:stable-3.2/_result",
            "/build/home:other/_result"
        ]
    );
    obs.shutdown().await;
}

#[tokio::test]
async fn unmapped_repositories_are_listed_together_before_any_result_request() {
    let mut state = DEMO.clone();
    add_project(&mut state, "home:other", "Debian_12", 10);
    let obs = ObsEmulator::start(state).await.unwrap();
    let config = obs_config(
        obs.url(),
        DEMO_AUTH,
        &[DEMO_OBS_PROJECT, "home:other"],
        "  Fedora_39: fedora/39\n",
        "",
    );
    let error = observe(&client(obs.url()), &config).await.unwrap_err();
    assert!(
        matches!(
            &error,
            SourceError::Inventory(InventoryError::Unmapped(repos))
                if repos == &["Debian_12", "xUbuntu_22.04"]
        ),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "2 OBS repositories are not in `distro-mapping`: `Debian_12`, `xUbuntu_22.04`"
    );
    assert!(result_requests(&obs).is_empty());
    obs.shutdown().await;
}

#[tokio::test]
async fn an_empty_mapping_skips_the_repository() {
    for mapping in [
        "  Fedora_39: fedora/39\n  xUbuntu_22.04:\n",
        "  Fedora_39: fedora/39\n  xUbuntu_22.04: ''\n",
    ] {
        let obs = demo_obs().await;
        let config = obs_config(obs.url(), DEMO_AUTH, &[DEMO_OBS_PROJECT], mapping, "");
        let inventory = observe(&client(obs.url()), &config).await.unwrap();
        assert_eq!(
            lines(&inventory),
            demo_lines_where(|l| l.starts_with("fedora/"))
        );
        assert_eq!(
            only_result_query(&obs),
            "view=binarylist&view=status&repository=Fedora_39"
        );
        obs.shutdown().await;
    }

    // Nothing mapped: nothing to ask beyond the meta.
    let obs = demo_obs().await;
    let mapping = "  Fedora_39:\n  xUbuntu_22.04:\n";
    let config = obs_config(obs.url(), DEMO_AUTH, &[DEMO_OBS_PROJECT], mapping, "");
    let inventory = observe(&client(obs.url()), &config).await.unwrap();
    assert!(inventory.artifacts.is_empty());
    assert!(result_requests(&obs).is_empty());
    obs.shutdown().await;
}

#[tokio::test]
async fn one_file_from_two_projects_is_one_artifact_or_a_conflict() {
    let mapping = "  Fedora_39: fedora/39\n";
    let key = ArtifactKey::new("fedora/39", "kata-runtime-3.2.0-1.1.x86_64.rpm");

    // Same size: one artifact, from the project that sorts first.
    let mut state = ObsState::default();
    add_project(&mut state, "home:b", "Fedora_39", 100);
    add_project(&mut state, "home:a", "Fedora_39", 100);
    let obs = ObsEmulator::start(state).await.unwrap();
    let config = obs_config(obs.url(), "", &["home:b", "home:a"], mapping, "");
    let inventory = observe(&client(obs.url()), &config).await.unwrap();
    assert_eq!(inventory.artifacts.len(), 1);
    assert_eq!(&*built(&inventory.artifacts[&key]).origin.project, "home:a");
    obs.shutdown().await;

    // Different sizes: a conflict naming both origins.
    let mut state = ObsState::default();
    add_project(&mut state, "home:a", "Fedora_39", 100);
    add_project(&mut state, "home:b", "Fedora_39", 101);
    let obs = ObsEmulator::start(state).await.unwrap();
    let config = obs_config(obs.url(), "", &["home:a", "home:b"], mapping, "");
    let error = observe(&client(obs.url()), &config).await.unwrap_err();
    let SourceError::Inventory(InventoryError::Conflicts(conflicts)) = &error else {
        panic!("expected a conflict, got: {error}");
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].key, key);
    let message = error.to_string();
    assert!(
        message.contains(
            "`fedora/39/kata-runtime-3.2.0-1.1.x86_64.rpm` is 100 bytes from \
             `home:a/Fedora_39/x86_64/kata-runtime/kata-runtime-3.2.0-1.1.x86_64.rpm` \
             but 101 bytes from \
             `home:b/Fedora_39/x86_64/kata-runtime/kata-runtime-3.2.0-1.1.x86_64.rpm`"
        ),
        "{message}"
    );
    obs.shutdown().await;
}

#[tokio::test]
async fn anonymous_access_uses_the_public_routes() {
    // The demo OBS requires its credentials everywhere but under `/public`.
    let obs = demo_obs().await;
    let client = client(obs.url());
    let config = obs_config(obs.url(), "", &[DEMO_OBS_PROJECT], DEMO_MAPPING, "");
    let mut inventory = observe(&client, &config).await.unwrap();
    assert_eq!(lines(&inventory), DEMO_INVENTORY);

    let key = ArtifactKey::new("fedora/39", "kata-runtime-3.2.0-1.1.x86_64.rpm");
    fill_md5(
        &client,
        &config,
        &mut inventory,
        &BTreeSet::from([key.clone()]),
    )
    .await
    .unwrap();
    assert!(inventory.artifacts[&key].md5.is_some());

    let paths: Vec<String> = obs.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            format!("/public/source/{DEMO_OBS_PROJECT}/_meta"),
            format!("/public/build/{DEMO_OBS_PROJECT}/_result"),
            format!("/public/build/{DEMO_OBS_PROJECT}/Fedora_39/x86_64/kata-runtime"),
        ]
    );
    obs.shutdown().await;
}

#[tokio::test]
async fn project_credentials_take_precedence_over_global_ones() {
    let obs = demo_obs().await;
    let config = parse(&format!(
        "obs:\n  url: {url}\n  auth: {{user: demo, password: wrong}}\n\
         obsprojects:\n  {DEMO_OBS_PROJECT}:\n    auth: {DEMO_AUTH}\n\
         packagecloud:\n  repo: demo/kata\ndistro-mapping:\n{DEMO_MAPPING}",
        url = obs.url()
    ));
    let inventory = observe(&client(obs.url()), &config).await.unwrap();
    assert_eq!(lines(&inventory), DEMO_INVENTORY);
    assert!(
        obs.requests()
            .iter()
            .all(|r| !r.path.starts_with("/public"))
    );
    obs.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_is_a_401_with_a_hint_and_is_never_shown() {
    let obs = demo_obs().await;
    let password = "pa55-w0rd-that-must-stay-secret";
    let auth = format!("{{user: {DEMO_OBS_USER}, password: {password}}}");
    let config = obs_config(obs.url(), &auth, &[DEMO_OBS_PROJECT], DEMO_MAPPING, "");
    let error = obs_error(observe(&client(obs.url()), &config).await.unwrap_err());
    assert!(
        matches!(&error, ObsError::Api { status, .. } if *status == StatusCode::UNAUTHORIZED),
        "{error}"
    );
    let text = chain(&error);
    assert!(text.contains(DEMO_OBS_PROJECT), "{text}");
    assert!(
        text.contains("Unknown user 'demo' or invalid password"),
        "{text}"
    );
    let hint = error.hint().unwrap();
    assert!(
        hint.contains("OBS rejected the password of user `demo`"),
        "{hint}"
    );
    for shown in [text, format!("{error:?}"), hint.to_string()] {
        assert!(!shown.contains(password), "{shown}");
        assert!(!shown.contains(DEMO_OBS_PASSWORD), "{shown}");
    }

    // Anonymous, against an OBS that allows no anonymous access.
    obs.set_canned_answers(vec![
        CannedAnswer::new(
            "/public/",
            401,
            "<status code=\"anonymous_user\">\n  <summary>Anonymous user is not allowed here - please login</summary>\n</status>\n",
        )
        .content_type("application/xml; charset=utf-8"),
    ]);
    let config = config_anonymous(obs.url());
    let error = obs_error(observe(&client(obs.url()), &config).await.unwrap_err());
    assert!(error.to_string().contains("`anonymous_user`"), "{error}");
    assert!(
        error
            .hint()
            .unwrap()
            .contains("set `OBS_USER` and `OBS_PASSWORD`")
    );
    obs.shutdown().await;
}

fn config_anonymous(url: &str) -> Config {
    obs_config(url, "", &[DEMO_OBS_PROJECT], DEMO_MAPPING, "")
}

#[tokio::test]
async fn binary_download_restriction_is_a_403_with_a_hint() {
    let obs = demo_obs().await;
    obs.set_binary_download_disabled(DEMO_OBS_PROJECT, true);
    let client = client(obs.url());
    let key = ArtifactKey::new("fedora/39", "kata-runtime-3.2.0-1.1.x86_64.rpm");

    // Anonymous: `_result` is open, the binary list with md5 is refused.
    let config = config_anonymous(obs.url());
    let mut inventory = observe(&client, &config).await.unwrap();
    let error = fill_md5(
        &client,
        &config,
        &mut inventory,
        &BTreeSet::from([key.clone()]),
    )
    .await
    .unwrap_err();
    let error = obs_error(error);
    let text = error.to_string();
    assert!(
        text.contains("the binaries of `Fedora_39/x86_64/kata-runtime`")
            && text.contains(DEMO_OBS_PROJECT)
            && text.contains("`download_binary_no_permission`"),
        "{text}"
    );
    assert!(
        error.hint().unwrap().contains("`binarydownload`"),
        "{:?}",
        error.hint()
    );

    // With an account, listing works; downloads stay refused (apply's business).
    let config = demo_config(obs.url(), "");
    let mut inventory = observe(&client, &config).await.unwrap();
    fill_md5(&client, &config, &mut inventory, &BTreeSet::from([key]))
        .await
        .unwrap();
    obs.shutdown().await;
}

#[tokio::test]
async fn an_unknown_project_is_named_in_the_error() {
    let obs = demo_obs().await;
    let config = obs_config(obs.url(), DEMO_AUTH, &["home:nosuch"], DEMO_MAPPING, "");
    let error = obs_error(observe(&client(obs.url()), &config).await.unwrap_err());
    assert_eq!(
        error.to_string(),
        "OBS refused the meta of project `home:nosuch` (404 Not Found, `unknown_project`): Project not found: home:nosuch"
    );
    assert!(error.hint().unwrap().contains("check the project name"));

    // The backend's wording, for a project gone between the meta and `_result`.
    obs.set_canned_answers(vec![CannedAnswer::new(
        "/_result",
        404,
        format!(
            "<status code=\"404\">\n  <summary>project '{DEMO_OBS_PROJECT}' does not exist</summary>\n  <details>404 project '{DEMO_OBS_PROJECT}' does not exist</details>\n</status>\n"
        ),
    )]);
    let error = obs_error(
        observe(&client(obs.url()), &demo_config(obs.url(), ""))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        error.to_string(),
        format!(
            "OBS refused the build results of project `{DEMO_OBS_PROJECT}` (404 Not Found, `404`): project '{DEMO_OBS_PROJECT}' does not exist"
        )
    );
    assert!(error.hint().unwrap().contains("check the project name"));
    obs.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_server_is_an_error() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = obs_error(
        observe(&client(&url), &demo_config(&url, ""))
            .await
            .unwrap_err(),
    );
    assert!(matches!(error, ObsError::Http { .. }), "{error}");
    let text = chain(&error);
    assert!(
        text.contains(&format!(
            "cannot read the meta of OBS project `{DEMO_OBS_PROJECT}`"
        )) && text.contains("could not connect"),
        "{text}"
    );
}

#[tokio::test]
async fn malformed_answers_fail_the_observation() {
    let obs = demo_obs().await;
    let client = client(obs.url());
    let config = demo_config(obs.url(), "");

    // The real `_result`, to cut short.
    let whole = reqwest::Client::new()
        .get(format!(
            "{}/build/{DEMO_OBS_PROJECT}/_result?view=binarylist&view=status",
            obs.url()
        ))
        .basic_auth(DEMO_OBS_USER, Some(DEMO_OBS_PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Up to the end of the first `<result>`: well-formed so far, but unfinished.
    let first_result_end = whole.find("</result>").unwrap() + "</result>".len();

    let cases = [
        (
            // A proxy's page with status 200 must not read as "no results".
            CannedAnswer::new(
                "/_result",
                200,
                "<html><body><h1>Maintenance</h1></body></html>",
            )
            .content_type("text/html"),
            "the answer is a `<html>` document, not `<resultlist>`",
        ),
        (
            CannedAnswer::new("/_result", 200, "Service temporarily unavailable"),
            "the answer is text, not XML",
        ),
        (
            CannedAnswer::new("/_result", 200, &whole[..first_result_end]),
            "not well-formed XML",
        ),
        (
            CannedAnswer::new("/_result", 200, &whole[..whole.len() / 2]),
            "not well-formed XML",
        ),
        (
            CannedAnswer::new(
                "/_result",
                200,
                "<resultlist><result project=\"x\" repository=\"Fedora_39\" arch=\"x86_64\"><binarylist package=\"a\"><binary filename=\"a.rpm\" size=\"many\" mtime=\"1\"/></binarylist></result></resultlist>",
            ),
            "does not fit its schema",
        ),
        (
            CannedAnswer::new("/_meta", 200, "<project><repository/></project>"),
            "does not fit its schema",
        ),
    ];
    for (answer, message) in cases {
        let what = if answer.path_contains == "/_meta" {
            "the meta"
        } else {
            "the build results"
        };
        obs.set_canned_answers(vec![answer]);
        let error = obs_error(observe(&client, &config).await.unwrap_err());
        assert!(matches!(error, ObsError::Malformed { .. }), "{error}");
        let text = error.to_string();
        assert!(
            text.contains(&format!(
                "OBS answered {what} of project `{DEMO_OBS_PROJECT}`"
            )) && text.contains(message),
            "{text}"
        );
    }

    // A transfer cut short (Content-Length not reached) on every attempt.
    obs.set_canned_answers(Vec::new());
    obs.set_faults(vec![
        FaultRule::new("/_result", Fault::Truncate { keep_bytes: 200 }).times(10),
    ]);
    let error = obs_error(observe(&client, &config).await.unwrap_err());
    assert!(matches!(error, ObsError::Http { .. }), "{error}");
    assert!(chain(&error).contains("cut short"), "{}", chain(&error));
    obs.shutdown().await;
}

#[tokio::test]
async fn server_errors_and_cut_transfers_are_retried() {
    let obs = demo_obs().await;
    let client = client(obs.url());
    let config = demo_config(obs.url(), "");
    for fault in [
        FaultRule::new("/_result", Fault::Status(503)).times(2),
        FaultRule::new("/_result", Fault::Truncate { keep_bytes: 100 }).times(2),
        FaultRule::new("/_meta", Fault::Reset).times(2),
    ] {
        obs.clear_requests();
        obs.set_faults(vec![fault.clone()]);
        let inventory = observe(&client, &config).await.unwrap();
        assert_eq!(lines(&inventory), DEMO_INVENTORY, "{fault:?}");
        let attempts = obs
            .requests()
            .iter()
            .filter(|r| r.path.ends_with(&fault.path_contains))
            .count();
        assert_eq!(attempts, 3, "{fault:?}");
    }
    obs.shutdown().await;
}

#[tokio::test]
async fn hostile_file_names_are_refused() {
    for name in ["../x.rpm", "evil\n.rpm", "a/b.rpm"] {
        let obs = demo_obs().await;
        obs.set_binary(
            &origin("Fedora_39", "x86_64", "qemu-kata", name),
            b"x".to_vec(),
            1,
        );
        let error = observe(&client(obs.url()), &demo_config(obs.url(), ""))
            .await
            .unwrap_err();
        match &error {
            SourceError::Inventory(InventoryError::UnsafeFilename { name: found, place }) => {
                assert_eq!(found, name);
                assert_eq!(
                    place,
                    &format!("{DEMO_OBS_PROJECT}/Fedora_39/x86_64/qemu-kata")
                );
            }
            other => panic!("{name:?}: expected UnsafeFilename, got: {other}"),
        }
        obs.shutdown().await;
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

#[tokio::test]
async fn fill_md5_asks_once_per_package_needed() {
    let obs = demo_obs().await;
    let client = client(obs.url());
    let config = demo_config(obs.url(), "filters:\n  debug_packages: true\n");
    let mut inventory = observe(&client, &config).await.unwrap();
    obs.clear_requests();

    let wanted = BTreeSet::from([
        // Two files of one package: one list.
        ArtifactKey::new("fedora/39", "kata-runtime-3.2.0-1.1.x86_64.rpm"),
        ArtifactKey::new("fedora/39", "kata-runtime-debuginfo-3.2.0-1.1.x86_64.rpm"),
        ArtifactKey::new(
            "ubuntu/jammy",
            "kata-linux-container-guest_6.1.52-1.1_arm64.deb",
        ),
        ArtifactKey::new("ubuntu/jammy", "kata-containers-image_3.2.0-1.1_all.deb"),
    ]);
    fill_md5(&client, &config, &mut inventory, &wanted)
        .await
        .unwrap();

    let mut asked: Vec<String> = obs
        .requests()
        .into_iter()
        .map(|r| format!("{}?{}", r.path, r.query.unwrap_or_default()))
        .collect();
    asked.sort();
    let p = DEMO_OBS_PROJECT;
    assert_eq!(
        asked,
        [
            format!("/build/{p}/Fedora_39/x86_64/kata-runtime?withmd5=1"),
            format!("/build/{p}/xUbuntu_22.04/aarch64/kata-linux-container:guest?withmd5=1"),
            format!("/build/{p}/xUbuntu_22.04/x86_64/kata-containers-image?withmd5=1"),
        ]
    );

    let builds = &DEMO.projects[DEMO_OBS_PROJECT].builds;
    for artifact in inventory.artifacts.values() {
        let o = &built(artifact).origin;
        if wanted.contains(&artifact.key) {
            let build = &builds[&BuildKey::new(&o.repository, &o.arch, &o.package)];
            let bytes = &build.binaries[&o.filename].bytes;
            assert_eq!(
                artifact.md5.as_deref(),
                Some(md5_hex(bytes).as_str()),
                "{o}"
            );
        } else {
            assert_eq!(artifact.md5, None, "{o}");
        }
    }
    obs.shutdown().await;
}

#[tokio::test]
async fn fill_md5_notices_a_binary_changed_since_the_listing() {
    let obs = demo_obs().await;
    let client = client(obs.url());
    let config = demo_config(obs.url(), "");
    let listed = observe(&client, &config).await.unwrap();
    let key = ArtifactKey::new("fedora/39", "qemu-kata-8.0.2-1.1.x86_64.rpm");
    let at = built(&listed.artifacts[&key]).origin.clone();
    let path = BinaryPath {
        project: at.project.to_string(),
        repository: at.repository.to_string(),
        arch: at.arch.to_string(),
        package: at.package.to_string(),
        filename: at.filename.clone(),
    };
    let (size, mtime) = (
        listed.artifacts[&key].size.unwrap(),
        built(&listed.artifacts[&key]).mtime,
    );
    let wanted = BTreeSet::from([key]);
    let expect_changed = |detail: String| {
        let (client, config, at, wanted) = (&client, &config, &at, &wanted);
        let mut inventory = listed.clone();
        async move {
            let error = fill_md5(client, config, &mut inventory, wanted)
                .await
                .unwrap_err();
            assert!(
                matches!(&error, SourceError::Changed { origin, detail: d }
                    if origin == &at.to_string() && d == &detail),
                "{error}"
            );
        }
    };

    // Rebuilt with other bytes.
    obs.set_binary(&path, vec![1u8; 10], mtime + 60);
    expect_changed(format!(
        "was {size} bytes (mtime {mtime}) and is now 10 bytes (mtime {})",
        mtime + 60
    ))
    .await;

    // Rebuilt with the same size: the mtime tells.
    obs.set_binary(&path, vec![1u8; size as usize], mtime + 1);
    expect_changed(format!(
        "was {size} bytes (mtime {mtime}) and is now {size} bytes (mtime {})",
        mtime + 1
    ))
    .await;

    assert!(obs.remove_binary(&path));
    expect_changed("is no longer listed".to_string()).await;
    obs.shutdown().await;
}

#[tokio::test]
async fn fill_md5_refuses_a_list_without_a_valid_md5() {
    let obs = demo_obs().await;
    let client = client(obs.url());
    let config = demo_config(obs.url(), "");
    let listed = observe(&client, &config).await.unwrap();
    let key = ArtifactKey::new("fedora/39", "kata-runtime-3.2.0-1.1.x86_64.rpm");
    let artifact = &listed.artifacts[&key];
    let wanted = BTreeSet::from([key.clone()]);
    for (md5_attribute, found) in [
        ("", None),
        (" md5=\"not-a-checksum\"", Some("not-a-checksum")),
    ] {
        // An OBS that ignores `withmd5=1` (or a proxy that rewrites the answer).
        obs.set_canned_answers(vec![CannedAnswer::new(
            "/Fedora_39/x86_64/kata-runtime?withmd5=1",
            200,
            format!(
                "<binarylist>\n  <binary filename=\"{}\"{md5_attribute} size=\"{}\" mtime=\"{}\" />\n</binarylist>\n",
                key.filename, artifact.size.unwrap(), built(artifact).mtime
            ),
        )]);
        let mut inventory = listed.clone();
        let error = fill_md5(&client, &config, &mut inventory, &wanted)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, SourceError::MissingMd5 { origin, found: f }
                if origin == &built(artifact).origin.to_string() && f.as_deref() == found),
            "{error}"
        );
        assert!(inventory.artifacts[&key].md5.is_none());
    }
    obs.shutdown().await;
}

#[tokio::test]
async fn projects_are_observed_concurrently_within_the_bound() {
    // Three copies of the demo project; each `_result` takes 300 ms.
    let mut state = DEMO.clone();
    let names = ["home:copy:1", "home:copy:2", "home:copy:3"];
    for name in names {
        let copy = state.projects[DEMO_OBS_PROJECT].clone();
        state.projects.insert(name.to_string(), copy);
    }
    state.projects.remove(DEMO_OBS_PROJECT);
    let obs = ObsEmulator::start(state).await.unwrap();
    let client = client(obs.url());
    let elapsed = |concurrency: usize| {
        let mut config = obs_config(obs.url(), DEMO_AUTH, &names, DEMO_MAPPING, "");
        config.obs.concurrency = concurrency;
        let client = client.clone();
        let obs = &obs;
        async move {
            obs.set_faults(vec![
                FaultRule::new("/_result", Fault::Delay { millis: 300 }).times(3),
            ]);
            let started = Instant::now();
            let inventory = observe(&client, &config).await.unwrap();
            // Same files in three projects: one artifact each, from the first.
            assert_eq!(inventory.artifacts.len(), DEMO_INVENTORY.len());
            assert!(
                inventory
                    .artifacts
                    .values()
                    .all(|a| &*built(a).origin.project == "home:copy:1")
            );
            started.elapsed()
        }
    };
    assert!(elapsed(1).await >= Duration::from_millis(900));
    assert!(elapsed(3).await < Duration::from_millis(850));
    obs.shutdown().await;
}
