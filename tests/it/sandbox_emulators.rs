//! Black-box tests of the sandbox emulators over real HTTP (reqwest), checked
//! against the reference payloads in `shared/reference/data/obs-responses/` and the
//! Packagecloud API reference.

use pkgsync_sandbox::demo::*;
use pkgsync_sandbox::obs::BinaryPath;
use pkgsync_sandbox::packages::{simple_deb, simple_rpm};
use pkgsync_sandbox::{
    DuplicateWording, Fault, FaultRule, ObsEmulator, ObsProject, ObsState, PackagecloudEmulator,
    PackagecloudSeed, Sandbox, Seed,
};
use quick_xml::events::Event;
use reqwest::StatusCode;
use sha2::Digest;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN: &str = "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdef";

fn origin(
    project: &str,
    repository: &str,
    arch: &str,
    package: &str,
    filename: &str,
) -> BinaryPath {
    BinaryPath {
        project: project.into(),
        repository: repository.into(),
        arch: arch.into(),
        package: package.into(),
        filename: filename.into(),
    }
}

fn reference(name: &str) -> String {
    let local = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/data/obs-responses")
        .join(name);
    let shared = Path::new("/work/shared/reference/data/obs-responses").join(name);
    std::fs::read_to_string(&local)
        .or_else(|_| std::fs::read_to_string(&shared))
        .unwrap_or_else(|e| panic!("reference {name}: {e}"))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/packages")
            .join(name),
    )
    .unwrap()
}

/// The distinct `path@attr,attr` signatures of a document: structure and
/// attribute names in order, no values.
fn shape(xml: &str) -> BTreeSet<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut out = BTreeSet::new();
    loop {
        let (element, opens) = match reader.read_event().unwrap() {
            Event::Start(e) => (e.into_owned(), true),
            Event::Empty(e) => (e.into_owned(), false),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let name = String::from_utf8_lossy(element.name().as_ref()).into_owned();
        let attrs: Vec<String> = element
            .attributes()
            .map(|a| String::from_utf8_lossy(a.unwrap().key.as_ref()).into_owned())
            .collect();
        stack.push(name);
        out.insert(format!("{}@{}", stack.join("/"), attrs.join(",")));
        if !opens {
            stack.pop();
        }
    }
    out
}

/// A project shaped like the reference run's `home:demo` (same names and codes).
fn home_demo() -> ObsState {
    let mut state = ObsState::default();
    let p = state.project("home:demo");
    *p = ObsProject::new("Local OBS backend test project");
    p.repository("Fedora_39", &["x86_64", "aarch64"])
        .repository("Debian_12", &["x86_64", "aarch64"]);
    for package in [
        "broken",
        "hello",
        "hello-link",
        "multi",
        "multi:nox",
        "world",
    ] {
        p.package(package);
    }
    for arch in ["x86_64", "aarch64"] {
        let deb_arch = if arch == "x86_64" { "amd64" } else { "arm64" };
        for (package, name, version) in [
            ("hello", "hello", "1.0"),
            ("hello-link", "hello-link", "1.0"),
            ("multi", "multi", "3.1"),
            ("multi:nox", "multi-nox", "3.1"),
            ("world", "world", "2.0"),
        ] {
            let rpm = simple_rpm(name, version, "1.1", arch).unwrap();
            p.set_binary(
                "Fedora_39",
                arch,
                package,
                &format!("{name}-{version}-1.1.{arch}.rpm"),
                rpm,
                1_795_235_505,
            );
            let deb = simple_deb(name, &format!("{version}-1.1"), deb_arch).unwrap();
            p.set_binary(
                "Debian_12",
                arch,
                package,
                &format!("{name}_{version}-1.1_{deb_arch}.deb"),
                deb,
                1_795_235_505,
            );
            p.add_build_metadata("Fedora_39", arch, package, 1_795_235_505, true);
            p.add_build_metadata("Debian_12", arch, package, 1_795_235_505, false);
        }
        let doc = simple_deb("world-doc", "2.0-1.1", "all").unwrap();
        p.set_binary(
            "Debian_12",
            arch,
            "world",
            "world-doc_2.0-1.1_all.deb",
            doc,
            1_795_235_505,
        );
        p.set_code(
            "Fedora_39",
            arch,
            "broken",
            if arch == "x86_64" {
                "failed"
            } else {
                "excluded"
            },
        );
        p.set_code("Debian_12", arch, "broken", "disabled");
    }
    state
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::get(url).await.unwrap()
}

async fn text(url: &str) -> (StatusCode, String) {
    let response = get(url).await;
    let status = response.status();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn obs_source_routes_match_the_reference_shapes() {
    let obs = ObsEmulator::start(home_demo()).await.unwrap();
    let base = obs.url().to_string();

    let (status, meta) = text(&format!("{base}/source/home:demo/_meta")).await;
    assert_eq!(status, 200);
    assert_eq!(shape(&meta), shape(&reference("source-meta.xml")));
    assert!(meta.contains("<arch>aarch64</arch>"));

    // `%3A` and `:` are the same project; with deleted=0 the list is the backend's.
    let (status, list) = text(&format!("{base}/source/home%3Ademo?deleted=0")).await;
    assert_eq!(status, 200);
    assert_eq!(list, reference("source-list.xml").replace(" />", "/>"));
    assert_eq!(shape(&list), shape(&reference("source-list.xml")));

    let response = get(&format!("{base}/source/nosuch/_meta")).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["x-opensuse-errorcode"],
        "unknown_project"
    );
    let body = response.text().await.unwrap();
    assert!(
        body.contains(r#"<status code="unknown_project">"#)
            && body.contains("Project not found: nosuch"),
        "{body}"
    );
    obs.shutdown().await;
}

#[tokio::test]
async fn obs_build_directories_and_errors_match_the_reference() {
    let obs = ObsEmulator::start(home_demo()).await.unwrap();
    let base = obs.url().to_string();
    let same = |ours: &str, file: &str| {
        assert_eq!(ours, reference(file).replace(" />", "/>"), "{file}");
    };

    let response = get(&format!("{base}/build/home:demo")).await;
    assert_eq!(response.headers()["content-type"], "text/xml");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    same(&response.text().await.unwrap(), "build-repos.xml");
    same(
        &text(&format!("{base}/build/home:demo/Fedora_39")).await.1,
        "build-archs.xml",
    );
    same(
        &text(&format!("{base}/build/home:demo/Fedora_39/x86_64"))
            .await
            .1,
        "build-packages.xml",
    );

    for (path, status, file) in [
        ("/build/nosuch", 404, "error-404-no-project.xml"),
        ("/build/home:demo/nosuchrepo", 404, "error-404-no-repo.xml"),
        (
            "/build/home:demo/Fedora_39/ppc64le/hello",
            404,
            "error-404-no-arch.xml",
        ),
        (
            "/build/home:demo/Fedora_39/x86_64/hello/nosuch.rpm",
            404,
            "error-404-no-file.xml",
        ),
        (
            "/build/home:demo/_result?package=nosuchpkg",
            404,
            "error-404-result-unknown-package.xml",
        ),
        (
            "/build/home:demo/Fedora_39/x86_64/hello?foo=1",
            400,
            "error-400-unknown-parameter.xml",
        ),
        (
            "/build/home:demo/Fedora_39/x86_64/hello?withmd5=true",
            400,
            "error-400-not-boolean.xml",
        ),
    ] {
        let (got_status, body) = text(&format!("{base}{path}")).await;
        assert_eq!(got_status.as_u16(), status, "{path}");
        same(&body, file);
    }
    let (_, two) = text(&format!(
        "{base}/build/home:demo/Fedora_39/x86_64/hello?zz=1&aa=2"
    ))
    .await;
    assert!(two.contains("unknown parameter 'aa', 'zz'"), "{two}");
    let (status, body) = text(&format!("{base}/build/home:demo/_result?repository=nosuch")).await;
    assert_eq!(status, 404);
    assert!(body.contains("unknown repository 'nosuch'"));
    let (status, body) = text(&format!("{base}/build/home:demo/_result?view=bogus")).await;
    assert_eq!(status, 400);
    assert!(body.contains("unknown view 'bogus'"));
    obs.shutdown().await;
}

#[tokio::test]
async fn obs_binary_lists_are_sorted_and_md5_is_opt_in() {
    let obs = ObsEmulator::start(home_demo()).await.unwrap();
    let base = obs.url().to_string();
    let url = format!("{base}/build/home:demo/Fedora_39/x86_64/hello");

    let (_, plain) = text(&url).await;
    assert_eq!(shape(&plain), shape(&reference("binarylist.xml")));
    let names: Vec<String> = plain
        .lines()
        .filter_map(|l| l.split("filename=\"").nth(1))
        .map(|l| l.split('"').next().unwrap().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(
        names,
        [
            "_buildenv",
            "_statistics",
            "hello-1.0-1.1.x86_64.rpm",
            "rpmlint.log"
        ]
    );

    for query in ["?withmd5=1", "?withmd5"] {
        let (status, with_md5) = text(&format!("{url}{query}")).await;
        assert_eq!(status, 200);
        assert_eq!(
            shape(&with_md5),
            shape(&reference("binarylist-withmd5.xml"))
        );
        let bytes = get(&format!("{url}/hello-1.0-1.1.x86_64.rpm"))
            .await
            .bytes()
            .await
            .unwrap();
        let md5 = hex::encode(md5::Md5::digest(&bytes));
        assert!(with_md5.contains(&format!("md5=\"{md5}\"")), "{with_md5}");
    }
    let (_, without) = text(&format!("{url}?withmd5=0")).await;
    assert!(!without.contains("md5="));

    // Deb build and flavour lists.
    let (_, deb) = text(&format!(
        "{base}/build/home:demo/Debian_12/x86_64/world?withmd5=1"
    ))
    .await;
    assert_eq!(shape(&deb), shape(&reference("binarylist-deb.xml")));
    assert!(deb.contains("world-doc_2.0-1.1_all.deb"));
    let (_, flavor) = text(&format!(
        "{base}/build/home:demo/Debian_12/aarch64/multi%3Anox"
    ))
    .await;
    assert_eq!(shape(&flavor), shape(&reference("binarylist-flavor.xml")));
    assert!(flavor.contains("multi-nox_3.1-1.1_arm64.deb"));

    // Failed builds and unknown packages: an empty list, not an error.
    for package in ["broken", "nosuchpackage"] {
        let (status, body) = text(&format!(
            "{base}/build/home:demo/Fedora_39/x86_64/{package}"
        ))
        .await;
        assert_eq!(status, 200);
        assert_eq!(shape(&body), shape(&reference("binarylist-empty.xml")));
        assert_eq!(body.trim(), "<binarylist/>");
    }
    // nosource drops sources and debug packages, not build metadata.
    let src = origin(
        "home:demo",
        "Fedora_39",
        "x86_64",
        "hello",
        "hello-1.0-1.1.src.rpm",
    );
    obs.set_binary(&src, vec![1, 2, 3], 1);
    let (_, nosource) = text(&format!("{url}?nosource=1")).await;
    assert!(!nosource.contains(".src.rpm") && nosource.contains("_buildenv"));
    obs.shutdown().await;
}

#[tokio::test]
async fn obs_downloads_are_exact_with_length_type_and_head() {
    let obs = ObsEmulator::start(home_demo()).await.unwrap();
    let base = obs.url().to_string();
    let rpm = simple_rpm("hello", "1.0", "1.1", "x86_64").unwrap();
    let url = format!("{base}/build/home:demo/Fedora_39/x86_64/hello/hello-1.0-1.1.x86_64.rpm");

    let response = get(&url).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-rpm");
    assert_eq!(
        response.headers()["content-length"],
        rpm.len().to_string().as_str()
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), rpm.as_slice());

    let head = reqwest::Client::new().head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"],
        rpm.len().to_string().as_str()
    );

    let deb = get(&format!(
        "{base}/build/home:demo/Debian_12/x86_64/world/world-doc_2.0-1.1_all.deb"
    ))
    .await;
    assert_eq!(
        deb.headers()["content-type"],
        "application/x-debian-package"
    );
    let other = get(&format!(
        "{base}/build/home:demo/Debian_12/x86_64/world/_buildenv"
    ))
    .await;
    assert_eq!(other.headers()["content-type"], "application/octet-stream");

    let (_, info) = text(&format!("{url}?view=fileinfo")).await;
    assert!(
        info.contains("<name>hello</name>") && info.contains("<arch>x86_64</arch>"),
        "{info}"
    );

    // Bytes that change between listing and download.
    obs.set_binary(
        &origin(
            "home:demo",
            "Fedora_39",
            "x86_64",
            "hello",
            "hello-1.0-1.1.x86_64.rpm",
        ),
        b"changed".to_vec(),
        2,
    );
    assert_eq!(get(&url).await.bytes().await.unwrap().as_ref(), b"changed");
    assert!(obs.remove_binary(&origin(
        "home:demo",
        "Fedora_39",
        "x86_64",
        "hello",
        "hello-1.0-1.1.x86_64.rpm"
    )));
    assert_eq!(get(&url).await.status(), 404);
    obs.shutdown().await;
}

#[tokio::test]
async fn obs_result_views_and_filters() {
    let obs = ObsEmulator::start(home_demo()).await.unwrap();
    let base = obs.url().to_string();

    let (_, status) = text(&format!("{base}/build/home:demo/_result")).await;
    assert_eq!(shape(&status), shape(&reference("result-status.xml")));
    assert!(status.contains(r#"<status package="broken" code="failed"/>"#));
    assert!(status.contains(r#"<status package="broken" code="excluded"/>"#));
    assert!(status.contains(r#"<status package="multi:nox" code="succeeded"/>"#));

    let (_, binaries) = text(&format!("{base}/build/home:demo/_result?view=binarylist")).await;
    assert_eq!(shape(&binaries), shape(&reference("result-binarylist.xml")));
    assert!(!binaries.contains("md5="));
    assert!(binaries.contains(r#"<binarylist package="broken"/>"#));
    // Results come in meta order: Fedora_39 x86_64, aarch64, then Debian_12.
    let order: Vec<&str> = binaries
        .lines()
        .filter(|l| l.contains("<result "))
        .collect();
    assert_eq!(order.len(), 4);
    assert!(order[0].contains(r#"repository="Fedora_39" arch="x86_64""#));
    assert!(order[3].contains(r#"repository="Debian_12" arch="aarch64""#));

    let (_, multi) = text(&format!(
        "{base}/build/home:demo/_result?view=binarylist&view=status&repository=Fedora_39&arch=x86_64&package=multi&multibuild=1"
    ))
    .await;
    assert_eq!(shape(&multi), shape(&reference("result-multibuild.xml")));
    assert!(multi.contains(r#"<binarylist package="multi:nox">"#));
    let (_, single) = text(&format!("{base}/build/home:demo/_result?package=multi")).await;
    assert!(!single.contains("multi:nox"));

    // The state digest changes with the build results.
    let state_of = |doc: &str| {
        doc.split("state=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let before = state_of(&status);
    obs.set_package_code("home:demo", "Fedora_39", "x86_64", "hello", "building");
    let (_, after) = text(&format!("{base}/build/home:demo/_result")).await;
    assert_ne!(before, state_of(&after));
    assert!(after.contains(r#"<status package="hello" code="building"/>"#));
    // A rebuild keeps the previous binaries listed until it finishes.
    let (_, list) = text(&format!("{base}/build/home:demo/Fedora_39/x86_64/hello")).await;
    assert!(list.contains("hello-1.0-1.1.x86_64.rpm"));
    obs.set_package_code("home:demo", "Fedora_39", "x86_64", "hello", "failed");
    let (_, list) = text(&format!("{base}/build/home:demo/Fedora_39/x86_64/hello")).await;
    assert_eq!(list.trim(), "<binarylist/>");

    let empty = ObsEmulator::start({
        let mut s = ObsState::default();
        s.project("home:empty");
        s
    })
    .await
    .unwrap();
    let (_, none) = text(&format!("{}/build/home:empty/_result", empty.url())).await;
    assert_eq!(
        none.trim(),
        r#"<resultlist state="00000000000000000000000000000000"/>"#
    );
    empty.shutdown().await;
    obs.shutdown().await;
}

#[tokio::test]
async fn obs_auth_challenges_and_public_routes_are_open() {
    let mut state = home_demo();
    state.credentials = Some(("user".into(), "secret".into()));
    let obs = ObsEmulator::start(state).await.unwrap();
    let base = obs.url().to_string();
    let client = reqwest::Client::new();

    let anonymous = client
        .get(format!("{base}/build/home:demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        r#"basic realm="API login""#
    );
    let body = anonymous.text().await.unwrap();
    assert!(body.contains(r#"<status code="authentication_required">"#));
    assert!(body.contains("<summary>Authentication required</summary>"));

    let wrong = client
        .get(format!("{base}/build/home:demo"))
        .basic_auth("user", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body = wrong.text().await.unwrap();
    assert!(!body.contains("nope"), "the password must never be echoed");

    let right = client
        .get(format!("{base}/build/home:demo"))
        .basic_auth("user", Some("secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);

    for path in [
        "/public/source/home:demo/_meta",
        "/public/source/home:demo",
        "/public/build/home:demo/Fedora_39/x86_64/hello?withmd5=1",
        "/public/build/home:demo/Fedora_39/x86_64/hello/hello-1.0-1.1.x86_64.rpm",
    ] {
        assert_eq!(
            client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .status(),
            200,
            "{path}"
        );
    }
    obs.set_credentials(None);
    assert_eq!(
        client
            .get(format!("{base}/build/home:demo"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    obs.shutdown().await;
}

#[tokio::test]
async fn obs_request_log_records_raw_path_and_query() {
    let obs = ObsEmulator::start(home_demo()).await.unwrap();
    let base = obs.url().to_string();
    get(&format!(
        "{base}/build/home%3Ademo/_result?view=binarylist&view=status"
    ))
    .await;
    get(&format!("{base}/build/home:demo/Fedora_39")).await;
    let log = obs.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/build/home%3Ademo/_result");
    assert_eq!(log[0].query.as_deref(), Some("view=binarylist&view=status"));
    assert_eq!(
        log.iter().filter(|r| r.path.ends_with("/_result")).count(),
        1
    );
    obs.clear_requests();
    assert!(obs.requests().is_empty());
    obs.shutdown().await;
}

// ---------------------------------------------------------------- Packagecloud

async fn packagecloud(seed: PackagecloudSeed) -> PackagecloudEmulator {
    PackagecloudEmulator::start(seed).await.unwrap()
}

fn pc_seed() -> PackagecloudSeed {
    let mut seed = PackagecloudSeed {
        token: Some(TOKEN.into()),
        ..Default::default()
    };
    seed.repo("user/repo");
    seed
}

fn authed(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
) -> reqwest::RequestBuilder {
    client.request(method, url).basic_auth(TOKEN, Some(""))
}

async fn upload(
    pc: &PackagecloudEmulator,
    distro_id: u64,
    bytes: Vec<u8>,
    part_name: &str,
    file_first: bool,
) -> reqwest::Response {
    let file = reqwest::multipart::Part::bytes(bytes).file_name(part_name.to_string());
    let form = reqwest::multipart::Form::new();
    let form = if file_first {
        form.part("package[package_file]", file)
            .text("package[distro_version_id]", distro_id.to_string())
    } else {
        form.text("package[distro_version_id]", distro_id.to_string())
            .part("package[package_file]", file)
    };
    authed(
        &reqwest::Client::new(),
        reqwest::Method::POST,
        format!("{}/api/v1/repos/user/repo/packages.json", pc.url()),
    )
    .multipart(form)
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn packagecloud_auth_and_distributions() {
    let pc = packagecloud(pc_seed()).await;
    let client = reqwest::Client::new();
    for auth in [None, Some("wrong")] {
        let mut request = client.get(format!("{}/api/v1/distributions.json", pc.url()));
        if let Some(token) = auth {
            request = request.basic_auth(token, Some(""));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.json::<serde_json::Value>().await.unwrap(),
            serde_json::json!({"error": "Unauthenticated"})
        );
    }
    for path in ["/api/v1/distributions.json", "/api/v1/distributions"] {
        let response = authed(&client, reqwest::Method::GET, format!("{}{path}", pc.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        let fedora = body["rpm"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["index_name"] == "fedora")
            .unwrap();
        let f39 = fedora["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["index_name"] == "39")
            .unwrap();
        assert_eq!(f39["id"], 279);
        assert!(body["dsc"].is_array() && body["py"].is_array());
    }
    pc.shutdown().await;
}

#[tokio::test]
async fn packagecloud_upload_renames_lists_and_details() {
    let pc = packagecloud(pc_seed()).await;
    let client = reqwest::Client::new();
    let rpm = fixture("hello-obs-1.0-1.1.noarch.rpm");
    let fedora39 = pc.distro_version_id("fedora/39").unwrap();

    let response = upload(&pc, fedora39, rpm.clone(), "foo.rpm", true).await;
    assert_eq!(response.status(), 201);
    let details: serde_json::Value = response.json().await.unwrap();
    assert_eq!(details["filename"], "hello-obs-1.0-1.1.noarch.rpm");
    assert_eq!(details["size"], rpm.len().to_string());
    assert_eq!(details["indexed"], false);
    assert_eq!(details["distro_version"], "fedora/39");
    assert_eq!(details["architecture"], "noarch");
    assert_eq!(details["epoch"], 0);
    assert_eq!(
        details["sha256sum"],
        hex::encode(sha2::Sha256::digest(&rpm))
    );
    assert_eq!(details["md5sum"], hex::encode(md5::Md5::digest(&rpm)));
    assert_eq!(
        details["sha512sum"],
        hex::encode(sha2::Sha512::digest(&rpm))
    );
    assert_eq!(
        details["destroy_url"],
        "/api/v1/repos/user/repo/fedora/39/hello-obs-1.0-1.1.noarch.rpm"
    );

    // The deb, id part first this time, part file name a random string.
    let jammy = pc.distro_version_id("ubuntu/jammy").unwrap();
    let deb = fixture("hello-obs_1.0-1.1_all.deb");
    let response = upload(&pc, jammy, deb.clone(), "x7f3k2", false).await;
    assert_eq!(response.status(), 201);
    let deb_details: serde_json::Value = response.json().await.unwrap();
    assert_eq!(deb_details["filename"], "hello-obs_1.0-1.1_all.deb");
    assert_eq!(deb_details["version"], "1.0");
    assert_eq!(deb_details["release"], "1.1");

    let response = authed(
        &client,
        reqwest::Method::GET,
        format!("{}/api/v1/repos/user/repo/packages.json", pc.url()),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.headers()["total"], "2");
    assert!(response.headers().get("link").is_none());
    // Field order is checked in packagecloud_client.rs (serde_json maps sort).
    let list: Vec<serde_json::Value> = response.json().await.unwrap();
    assert_eq!(list[0]["filename"], "hello-obs-1.0-1.1.noarch.rpm");
    assert_eq!(list[1]["type"], "deb");
    assert!(list[0]["created_at"].as_str() < list[1]["created_at"].as_str());

    // Details by the fragment's package_url (rpm and deb forms), then download.
    for fragment in &list {
        let url = format!("{}{}", pc.url(), fragment["package_url"].as_str().unwrap());
        let response = authed(&client, reqwest::Method::GET, url)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["filename"], fragment["filename"]);
        let bytes = client
            .get(body["download_url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            body["sha256sum"].as_str().unwrap()
        );
    }
    assert_eq!(pc.upload_attempts(), 2);
    assert_eq!(pc.uploads_stored(), 2);
    let stored = pc.packages("user/repo");
    assert_eq!(stored[0].filename, "hello-obs-1.0-1.1.noarch.rpm");
    assert_eq!(stored[0].size, rpm.len() as u64);
    pc.shutdown().await;
}

#[tokio::test]
async fn packagecloud_upload_rejections() {
    let pc = packagecloud(pc_seed()).await;
    let fedora39 = pc.distro_version_id("fedora/39").unwrap();
    let jammy = pc.distro_version_id("ubuntu/jammy").unwrap();
    let rpm = fixture("hello-obs-1.0-1.1.noarch.rpm");
    let body = |r: reqwest::Response| async move {
        (r.status(), r.json::<serde_json::Value>().await.unwrap())
    };

    assert_eq!(
        upload(&pc, fedora39, rpm.clone(), "a.rpm", false)
            .await
            .status(),
        201
    );
    let (status, dup) = body(upload(&pc, fedora39, rpm.clone(), "b.rpm", false).await).await;
    assert_eq!(status, 422);
    assert_eq!(
        dup,
        serde_json::json!({"filename": ["has already been taken"]})
    );
    pc.set_duplicate_wording(DuplicateWording::FullNameExists);
    let (status, dup) = body(upload(&pc, fedora39, rpm.clone(), "b.rpm", false).await).await;
    assert_eq!(status, 422);
    assert_eq!(
        dup,
        serde_json::json!({"repository": ["Validation failed: Full name already exists."]})
    );
    // The same file in another distro version is fine.
    let fedora40 = pc.distro_version_id("fedora/40").unwrap();
    assert_eq!(
        upload(&pc, fedora40, rpm.clone(), "a.rpm", false)
            .await
            .status(),
        201
    );

    let (status, wrong) = body(upload(&pc, jammy, rpm.clone(), "a.rpm", false).await).await;
    assert_eq!(status, 422);
    assert_eq!(
        wrong,
        serde_json::json!({"repository": ["The specified distro does not support the package you've tried to upload"]})
    );
    let (status, unknown) = body(upload(&pc, 999_999, rpm.clone(), "a.rpm", false).await).await;
    assert_eq!(status, 422);
    assert!(unknown.get("distro_version_id").is_some());
    let (status, garbage) =
        body(upload(&pc, fedora39, b"not a package".to_vec(), "a.rpm", false).await).await;
    assert_eq!(status, 422);
    assert!(garbage.get("package_file").is_some());
    let truncated = rpm[..300].to_vec();
    assert_eq!(
        upload(&pc, fedora39, truncated, "a.rpm", false)
            .await
            .status(),
        422
    );

    assert_eq!(pc.packages("user/repo").len(), 2);
    assert_eq!(pc.uploads_stored(), 2);
    pc.shutdown().await;
}

#[tokio::test]
async fn packagecloud_delete_then_not_found() {
    let pc = packagecloud(pc_seed()).await;
    pc.insert_package(
        "user/repo",
        "el/9",
        simple_rpm("a+b", "1.0~rc1", "1", "x86_64").unwrap(),
    )
    .unwrap();
    let client = reqwest::Client::new();
    // Percent-encoded `+` and `~` in the filename segment.
    let url = format!(
        "{}/api/v1/repos/user/repo/el/9/a%2Bb-1.0%7Erc1-1.x86_64.rpm",
        pc.url()
    );
    let response = authed(&client, reqwest::Method::DELETE, url.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({})
    );
    assert!(pc.packages("user/repo").is_empty());
    let response = authed(&client, reqwest::Method::DELETE, url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"filename": ["not found"]})
    );
    pc.shutdown().await;
}

#[tokio::test]
async fn packagecloud_pagination_clamps_and_links() {
    let mut seed = Seed::empty();
    seed.packagecloud = pc_seed();
    seed.packagecloud_rpms("user/repo", "el/9", "pkg", 300)
        .unwrap();
    let pc = packagecloud(seed.packagecloud).await;
    let client = reqwest::Client::new();
    let list_url = format!("{}/api/v1/repos/user/repo/packages.json", pc.url());

    let response = authed(&client, reqwest::Method::GET, list_url.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["per-page"], "30");
    assert_eq!(
        response
            .json::<Vec<serde_json::Value>>()
            .await
            .unwrap()
            .len(),
        30
    );

    let response = authed(
        &client,
        reqwest::Method::GET,
        format!("{list_url}?per_page=1000"),
    )
    .send()
    .await
    .unwrap();
    let headers = response.headers().clone();
    assert_eq!(headers["total"], "300");
    assert_eq!(headers["per-page"], "250");
    assert_eq!(headers["max-per-page"], "250");
    let link = headers["link"].to_str().unwrap().to_string();
    assert!(
        link.contains(&format!("<{list_url}?page=2&per_page=1000>; rel=\"next\"")),
        "{link}"
    );
    assert!(
        link.contains(&format!("<{list_url}?page=2&per_page=1000>; rel=\"last\"")),
        "{link}"
    );
    assert_eq!(
        response
            .json::<Vec<serde_json::Value>>()
            .await
            .unwrap()
            .len(),
        250
    );

    // Walk `next` links with a small page: every package once, oldest first.
    let mut url = format!("{list_url}?per_page=100");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let response = authed(&client, reqwest::Method::GET, url.clone())
            .send()
            .await
            .unwrap();
        let link = response
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        if pages > 0 {
            let link = link.clone().unwrap();
            assert!(
                link.contains("rel=\"first\"") && link.contains("rel=\"prev\""),
                "{link}"
            );
        }
        pages += 1;
        let page: Vec<serde_json::Value> = response.json().await.unwrap();
        seen.extend(page.iter().map(|p| {
            (
                p["created_at"].as_str().unwrap().to_string(),
                p["filename"].as_str().unwrap().to_string(),
            )
        }));
        let next = link.and_then(|l| {
            l.split(", ")
                .find(|part| part.ends_with("rel=\"next\""))
                .map(|part| {
                    part.trim_start_matches('<')
                        .split('>')
                        .next()
                        .unwrap()
                        .to_string()
                })
        });
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 300);
    let unique: BTreeSet<_> = seen.iter().map(|(_, f)| f.clone()).collect();
    assert_eq!(unique.len(), 300);
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "oldest first");
    assert_eq!(seen[0].1, "pkg-0-1.0-1.x86_64.rpm");

    let beyond = authed(&client, reqwest::Method::GET, format!("{list_url}?page=99"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        beyond.json::<Vec<serde_json::Value>>().await.unwrap().len(),
        0
    );
    pc.shutdown().await;
}

// ---------------------------------------------------------------------- Faults

#[tokio::test]
async fn faults_status_429_delay_and_skip_times() {
    let obs = ObsEmulator::start(home_demo()).await.unwrap();
    let url = format!("{}/build/home:demo", obs.url());
    obs.set_faults(vec![
        FaultRule::new("/build/home:demo", Fault::Status(503))
            .method("GET")
            .skip(1)
            .times(1),
        FaultRule::new(
            "/build/home:demo",
            Fault::TooManyRequests {
                retry_after_secs: 7,
            },
        )
        .skip(2)
        .times(1),
    ]);
    assert_eq!(get(&url).await.status(), 200);
    let unavailable = get(&url).await;
    assert_eq!(unavailable.status(), 503);
    assert!(
        unavailable
            .text()
            .await
            .unwrap()
            .contains("<title>503 Service Unavailable</title>")
    );
    let limited = get(&url).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    assert_eq!(get(&url).await.status(), 200);
    // Faulted requests are logged like any other.
    assert_eq!(obs.requests().len(), 4);

    obs.set_faults(vec![FaultRule::new(
        "_result",
        Fault::Delay { millis: 300 },
    )]);
    let started = Instant::now();
    assert_eq!(
        get(&format!("{}/build/home:demo/_result", obs.url()))
            .await
            .status(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    obs.clear_faults();
    let started = Instant::now();
    get(&format!("{}/build/home:demo/_result", obs.url())).await;
    assert!(started.elapsed() < Duration::from_millis(300));
    obs.shutdown().await;
}

#[tokio::test]
async fn faults_reset_and_truncate_break_the_transfer() {
    let obs = ObsEmulator::start(home_demo()).await.unwrap();
    let url = format!(
        "{}/build/home:demo/Fedora_39/x86_64/hello/hello-1.0-1.1.x86_64.rpm",
        obs.url()
    );
    let full = get(&url).await.bytes().await.unwrap();

    obs.set_faults(vec![FaultRule::new(
        "hello-1.0-1.1.x86_64.rpm",
        Fault::Reset,
    )]);
    let reset = match reqwest::get(&url).await {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(reset, "a reset must surface as a transport error");

    obs.set_faults(vec![FaultRule::new(
        "hello-1.0-1.1.x86_64.rpm",
        Fault::Truncate { keep_bytes: 100 },
    )]);
    let response = get(&url).await;
    assert_eq!(
        response.headers()["content-length"],
        full.len().to_string().as_str()
    );
    assert!(
        response.bytes().await.is_err(),
        "a truncated body must not read as complete"
    );

    // Raw socket view of the truncation: exactly 100 body bytes, then EOF.
    obs.set_faults(vec![FaultRule::new(
        "hello-1.0-1.1.x86_64.rpm",
        Fault::Truncate { keep_bytes: 100 },
    )]);
    let received = raw_get(
        obs.url(),
        "/build/home:demo/Fedora_39/x86_64/hello/hello-1.0-1.1.x86_64.rpm",
    )
    .await;
    let body_start = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(received.len() - body_start, 100);
    assert_eq!(&received[body_start..], &full[..100]);

    obs.clear_faults();
    assert_eq!(get(&url).await.bytes().await.unwrap(), full);
    obs.shutdown().await;
}

async fn raw_get(base: &str, path: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out)).await;
    out
}

#[tokio::test]
async fn faults_store_then_status_stores_the_upload() {
    let pc = packagecloud(pc_seed()).await;
    let fedora39 = pc.distro_version_id("fedora/39").unwrap();
    pc.set_faults(vec![
        FaultRule::new("/packages", Fault::StoreThenStatus(500)).method("POST"),
    ]);
    let response = upload(
        &pc,
        fedora39,
        fixture("hello-obs-1.0-1.1.noarch.rpm"),
        "x.rpm",
        false,
    )
    .await;
    assert_eq!(response.status(), 500);
    assert_eq!(pc.uploads_stored(), 1);
    assert_eq!(pc.packages("user/repo").len(), 1);
    // A blind retry is now a duplicate.
    let retry = upload(
        &pc,
        fedora39,
        fixture("hello-obs-1.0-1.1.noarch.rpm"),
        "x.rpm",
        false,
    )
    .await;
    assert_eq!(retry.status(), 422);
    assert_eq!(pc.packages("user/repo").len(), 1);

    pc.set_faults(vec![
        FaultRule::new("/packages", Fault::Status(502)).method("POST"),
    ]);
    let response = upload(
        &pc,
        fedora39,
        fixture("hello-obs-1.0-1.1.src.rpm"),
        "y.rpm",
        false,
    )
    .await;
    assert_eq!(response.status(), 502);
    assert!(response.text().await.unwrap().contains("nginx"));
    assert_eq!(
        pc.packages("user/repo").len(),
        1,
        "a plain status fault stores nothing"
    );
    pc.shutdown().await;
}

// ------------------------------------------------------------------------ Demo

#[tokio::test]
async fn demo_sandbox_serves_a_consistent_world_and_shuts_down() {
    let sandbox = Sandbox::start(Seed::demo()).await.unwrap();
    assert!(
        sandbox.obs_url().starts_with("http://127.0.0.1:") && !sandbox.obs_url().ends_with('/')
    );
    let client = reqwest::Client::new();

    let obs_file = client
        .get(format!(
            "{}/build/{DEMO_OBS_PROJECT}/Fedora_39/x86_64/kata-runtime/kata-runtime-3.2.0-1.1.x86_64.rpm",
            sandbox.obs_url()
        ))
        .basic_auth(DEMO_OBS_USER, Some(DEMO_OBS_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(obs_file.status(), 200);
    let obs_sha = hex::encode(sha2::Sha256::digest(obs_file.bytes().await.unwrap()));

    let listing: Vec<serde_json::Value> = client
        .get(format!(
            "{}/api/v1/repos/{DEMO_PC_REPO}/packages.json",
            sandbox.packagecloud_url()
        ))
        .basic_auth(DEMO_PC_TOKEN, Some(""))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: BTreeSet<(String, String)> = listing
        .iter()
        .map(|p| {
            (
                p["distro_version"].as_str().unwrap().into(),
                p["filename"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("fedora/39", "kata-runtime-3.2.0-1.1.x86_64.rpm"),
        ("ubuntu/jammy", "kata-runtime_3.2.0-1.1_amd64.deb"),
        ("fedora/39", "kata-proxy-1.11.0-1.1.x86_64.rpm"),
        ("el/7", "kata-shim-1.11.0-1.1.x86_64.rpm"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(keys, expected);
    let pc_sha = listing
        .iter()
        .find(|p| p["filename"] == "kata-runtime-3.2.0-1.1.x86_64.rpm")
        .unwrap()["sha256sum"]
        .clone();
    assert_eq!(pc_sha, obs_sha);

    let result = client
        .get(format!(
            "{}/build/{DEMO_OBS_PROJECT}/_result?view=binarylist",
            sandbox.obs_url()
        ))
        .basic_auth(DEMO_OBS_USER, Some(DEMO_OBS_PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(result.contains(r#"<binarylist package="kata-linux-container:guest">"#));
    assert!(result.contains("kata-containers-image_3.2.0-1.1_all.deb"));
    assert!(result.contains(r#"<binarylist package="broken"/>"#));

    let obs_url = sandbox.obs_url().to_string();
    let pc_url = sandbox.packagecloud_url().to_string();
    sandbox.shutdown().await;
    assert!(
        reqwest::get(&obs_url).await.is_err(),
        "OBS emulator still answering"
    );
    assert!(
        reqwest::get(&pc_url).await.is_err(),
        "Packagecloud emulator still answering"
    );
}
