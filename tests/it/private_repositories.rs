//! Published repositories that demand credentials, over loopback: a server
//! that answers 401 without the right `Authorization` or custom header, and a
//! TLS front that requires a client certificate of a CA made here by openssl.
//! Each is planned and applied from a real flat Debian archive
//! (dpkg-scanpackages, apt-ftparchive); without the credential the plan fails
//! clearly; the credential's value is in no output, plan or journal; a
//! redirect to another host gets none. And `deb:` read from disk.

use crate::support::sh;
use crate::support::{World, install_tools, world_of};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use base64::Engine;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const SECRET: &str = "s3cr3t-Pa55-value";

/// A flat archive in `root/repo` (two debs in `pool/`), or with `suite` a
/// `dists/<suite>/main/binary-amd64/` one at `root/repo` as its root.
fn archive(root: &Path, suite: Option<&str>) {
    install_tools(&["apt-utils", "dpkg-dev", "xz-utils"]);
    let repo = root.join("repo");
    std::fs::create_dir_all(repo.join("pool")).unwrap();
    for name in ["alpha", "beta"] {
        let deb = pkgsync_sandbox::packages::simple_deb(name, "1.0-1", "amd64").unwrap();
        std::fs::write(repo.join(format!("pool/{name}_1.0-1_amd64.deb")), deb).unwrap();
    }
    match suite {
        None => sh(
            &repo,
            "dpkg-scanpackages -m pool 2>/dev/null > Packages && xz -k Packages \
             && apt-ftparchive release . > Release",
        ),
        Some(suite) => sh(
            &repo,
            &format!(
                "d=dists/{suite}/main/binary-amd64 && mkdir -p $d \
                 && dpkg-scanpackages -m pool 2>/dev/null > $d/Packages && xz -k $d/Packages \
                 && apt-ftparchive -o APT::FTPArchive::Release::Codename={suite} \
                    -o APT::FTPArchive::Release::Components=main \
                    -o APT::FTPArchive::Release::Architectures=amd64 \
                    release dists/{suite} > Release.tmp && mv Release.tmp dists/{suite}/Release"
            ),
        ),
    }
}

/// A loopback server over `root` that demands `demand` (a header's name and
/// exact value) and records every request's headers; `.deb` requests are
/// redirected to `debs_at` when given.
struct Guard {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct GuardState {
    root: PathBuf,
    demand: Option<(String, String)>,
    debs_at: Option<String>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Guard {
    async fn start(root: &Path, demand: Option<(&str, String)>, debs_at: Option<String>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let state = GuardState {
            root: root.to_path_buf(),
            demand: demand.map(|(n, v)| (n.to_string(), v)),
            debs_at,
            seen: seen.clone(),
        };
        let router = axum::Router::new().fallback(guarded).with_state(state);
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { url, seen, task }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn guarded(State(state): State<GuardState>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    state
        .seen
        .lock()
        .unwrap()
        .push(format!("{path} {:?}", request.headers()));
    let answer = |code: StatusCode| {
        Response::builder()
            .status(code)
            .body(Body::from(format!("<html><body>{code}</body></html>")))
            .unwrap()
    };
    if let Some((name, value)) = &state.demand {
        let given = request
            .headers()
            .get(name.as_str())
            .and_then(|v| v.to_str().ok());
        if given != Some(value.as_str()) {
            let mut refused = answer(StatusCode::UNAUTHORIZED);
            refused.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"private\"".parse().unwrap(),
            );
            return refused;
        }
    }
    if let Some(elsewhere) = &state.debs_at
        && path.ends_with(".deb")
    {
        return Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, format!("{elsewhere}{path}"))
            .body(Body::empty())
            .unwrap();
    }
    let relative = path.trim_start_matches('/');
    if relative.split('/').any(|p| p == ".." || p.is_empty()) {
        return answer(StatusCode::NOT_FOUND);
    }
    match tokio::fs::read(state.root.join(relative)).await {
        Ok(bytes) => Response::new(Body::from(bytes)),
        Err(_) => answer(StatusCode::NOT_FOUND),
    }
}

/// The kind of credentials the plan's recorded config gives its archive.
fn recorded_auth(world: &World) -> String {
    let plan = pkgsync::plan::file::read(&world.path("plan.json")).unwrap();
    plan.config.deb[0].auth.clone().unwrap_or_default()
}

fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

fn deb_world(url: &str, auth: &str) -> World {
    world_of(&format!(
        "deb:\n  - url: {url}\n    distro: ubuntu/jammy\n{auth}"
    ))
}

/// Every file below the world's directory but `except` (the files that
/// hold the credential on purpose): none holds `secret`.
fn nowhere_on_disk(world: &World, secret: &str, except: &[&Path]) {
    let mut pending = vec![world.dir.path().to_path_buf()];
    let mut read = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if !except.contains(&path.as_path()) {
                let bytes = std::fs::read(&path).unwrap();
                read += 1;
                assert!(
                    !String::from_utf8_lossy(&bytes).contains(secret),
                    "the credential is in `{}`",
                    path.display()
                );
            }
        }
    }
    assert!(
        read >= 3,
        "the plan, the journal and the config were looked at"
    );
}

/// plan → apply → plan with `envs`: two uploads, then nothing to do; the
/// credential is in no output and no file written.
fn syncs(world: &World, envs: &[(&str, &str)], secret: &str, except: &[&Path]) {
    let plan = world.path("plan.json");
    let plan_arg = plan.to_str().unwrap();
    let mut runs = Vec::new();
    let args = ["plan", "--config", world.config(), "--out", plan_arg];
    runs.push(world.pkgsync_with(&args, envs).expect(0));
    let written = pkgsync::plan::file::read(&plan).unwrap();
    assert_eq!(written.summary.upload, 2, "{written:#?}");
    let apply = ["apply", plan_arg, "--config", world.config()];
    runs.push(world.pkgsync_with(&apply, envs).expect(0));
    assert_eq!(world.stored().len(), 2, "{:?}", world.stored());
    let again = ["plan", "--config", world.config(), "--detailed-exitcode"];
    runs.push(world.pkgsync_with(&again, envs).expect(0));
    for run in &runs {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{run:?}"
        );
    }
    nowhere_on_disk(world, secret, except);
}

/// `plan` fails with exit 1, naming `says`, without the credential in its output.
fn refused(world: &World, envs: &[(&str, &str)], says: &[&str]) {
    let run = world
        .pkgsync_with(&["plan", "--config", world.config()], envs)
        .expect(1);
    for word in says {
        assert!(run.stderr.contains(word), "{word:?} in:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains(SECRET) && !run.stdout.contains(SECRET));
    assert!(world.stored().is_empty());
}

#[test]
fn basic_auth_from_the_environment_plans_and_applies() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path(), None);
    let server = runtime.block_on(Guard::start(
        dir.path(),
        Some(("authorization", basic("deploy", SECRET))),
        None,
    ));
    let auth = "    auth:\n      user: deploy\n      password_env: REPO_PASSWORD\n";
    let world = deb_world(&format!("{}/repo", server.url), auth);
    refused(
        &world,
        &[],
        &["`deb[0].auth.password_env`", "`REPO_PASSWORD` is not set"],
    );
    refused(&world, &[("REPO_PASSWORD", "wrong")], &["401", "/repo/"]);
    syncs(&world, &[("REPO_PASSWORD", SECRET)], SECRET, &[]);
    assert_eq!(recorded_auth(&world), "basic", "the plan records the kind");
    assert!(
        server.seen().iter().any(|s| s.contains(".deb")),
        "apply downloaded"
    );
}

#[test]
fn a_header_from_the_environment_plans_and_applies() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path(), None);
    let server = runtime.block_on(Guard::start(
        dir.path(),
        Some(("x-api-key", SECRET.to_string())),
        None,
    ));
    let auth = "    auth:\n      header: X-Api-Key\n      header_env: REPO_KEY\n";
    let world = deb_world(&format!("{}/repo", server.url), auth);
    refused(&world, &[("REPO_KEY", "wrong")], &["401"]);
    syncs(&world, &[("REPO_KEY", SECRET)], SECRET, &[]);
}

#[test]
fn netrc_gives_the_hosts_credentials() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path(), None);
    let server = runtime.block_on(Guard::start(
        dir.path(),
        Some(("authorization", basic("netrc-user", SECRET))),
        None,
    ));
    let world = deb_world(
        &format!("{}/repo", server.url),
        "    auth:\n      netrc: true\n",
    );
    let netrc = world.path("netrc");
    let file = netrc.to_str().unwrap();
    std::fs::write(&netrc, "machine elsewhere.example login x password y\n").unwrap();
    refused(&world, &[("NETRC", file)], &["has no `machine 127.0.0.1`"]);
    std::fs::write(
        &netrc,
        format!("machine elsewhere.example login x password y\nmachine 127.0.0.1\n  login netrc-user\n  password {SECRET}\n"),
    )
    .unwrap();
    syncs(&world, &[("NETRC", file)], SECRET, &[&netrc]);
}

#[test]
fn a_redirect_to_another_host_gets_no_credential() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path(), None);
    let mirror = runtime.block_on(Guard::start(dir.path(), None, None));
    // `localhost` and `127.0.0.1` are two hosts to a client.
    let mirror_url = mirror.url.replace("127.0.0.1", "localhost");
    let server = runtime.block_on(Guard::start(
        dir.path(),
        Some(("x-api-key", SECRET.to_string())),
        Some(mirror_url),
    ));
    let auth = "    auth:\n      header: X-Api-Key\n      header_env: REPO_KEY\n";
    let world = deb_world(&format!("{}/repo", server.url), auth);
    syncs(&world, &[("REPO_KEY", SECRET)], SECRET, &[]);
    let at_mirror = mirror.seen();
    assert_eq!(
        at_mirror.iter().filter(|s| s.contains(".deb")).count(),
        2,
        "{at_mirror:?}"
    );
    for request in &at_mirror {
        assert!(!request.to_lowercase().contains("x-api-key"), "{request}");
        assert!(!request.contains(SECRET), "{request}");
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, by openssl.
fn certificates(dir: &Path) {
    sh(
        dir,
        "set -e; q='-loglevel error'; \
         openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null; \
         openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null; \
         printf 'subjectAltName=IP:127.0.0.1\\n' > san; \
         openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san 2>/dev/null; \
         printf 'extendedKeyUsage=clientAuth\n' > client.ext; \
         openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=entitled 2>/dev/null; \
         openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext 2>/dev/null; \
         openssl pkcs8 -topk8 -nocrypt -in client.key -out client.pk8; mv client.pk8 client.key",
    );
}

/// A TLS front on loopback that requires a client certificate of `ca.pem`
/// and passes the bytes on to `backend` (`host:port`).
async fn tls_front(dir: &Path, backend: String) -> (String, tokio::task::JoinHandle<()>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain = vec![CertificateDer::from_pem_file(dir.join("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let backend = backend.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (url, task)
}

#[test]
fn a_client_certificate_plans_and_applies() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    archive(dir.path(), None);
    let certs = tempfile::tempdir().unwrap();
    certificates(certs.path());
    let backend = runtime.block_on(Guard::start(dir.path(), None, None));
    let (url, front) = runtime.block_on(tls_front(
        certs.path(),
        backend.url.trim_start_matches("http://").to_string(),
    ));
    let at = |name: &str| certs.path().join(name).display().to_string();
    let ca_only = format!("    auth:\n      ca_bundle: {}\n", at("ca.pem"));
    let world = deb_world(&format!("{url}/repo"), &ca_only);
    refused(&world, &[], &["/repo/"]);
    world.edit_config(
        &ca_only,
        &format!(
            "{ca_only}      client_cert: {}\n      client_key: {}\n",
            at("client.pem"),
            at("client.key")
        ),
    );
    let key = std::fs::read_to_string(certs.path().join("client.key")).unwrap();
    let key_body = key.lines().nth(1).unwrap().to_string();
    syncs(&world, &[], &key_body, &[]);
    assert_eq!(recorded_auth(&world), "client certificate + CA bundle");
    front.abort();
}

#[test]
fn deb_archives_are_read_from_disk_flat_and_as_a_suite() {
    for suite in [None, Some("stable")] {
        let dir = tempfile::tempdir().unwrap();
        archive(dir.path(), suite);
        let repo = dir.path().join("repo");
        let layout = match suite {
            None => String::new(),
            Some(s) => {
                format!("    suite: {s}\n    components: [main]\n    architectures: [amd64]\n")
            }
        };
        for url in [
            repo.display().to_string(),
            format!("file://{}", repo.display()),
        ] {
            let world = deb_world(&url, &layout);
            syncs(&world, &[], "no credential here", &[]);
        }
    }
}

#[test]
fn auth_blocks_that_cannot_be_meant_are_refused_by_name() {
    let cases = [
        (
            concat!(
                "deb:\n  - url: https://a.example/one\n    distro: ubuntu/jammy\n",
                "    auth: {user: d, password: p}\n",
                "  - url: https://a.example/two\n    distro: ubuntu/noble\n",
                "    auth: {bearer_env: HOME}\n",
            ),
            "are on one host but have different `auth`",
        ),
        (
            "deb:\n  - url: /srv/archive\n    distro: ubuntu/jammy\n    auth: {bearer_env: HOME}\n",
            "`deb[0].auth`: a repository on disk takes no credentials",
        ),
        (
            "rpm-md:\n  - url: https://a.example/el9\n    distro: el/9\n    auth: {user: deploy}\n",
            "`rpm-md[0].auth`: give one of `password` and `password_env`",
        ),
        (
            "rpm-md:\n  - url: https://a.example/el9\n    distro: el/9\n    auth: {user: d, password: p, netrc: true}\n",
            "give one of `user`/`password`, `netrc`",
        ),
    ];
    for (sources, says) in cases {
        let world = world_of(sources);
        let run = world
            .pkgsync(&["plan", "--config", world.config()])
            .expect(1);
        assert!(run.stderr.contains(says), "{says:?} in:\n{}", run.stderr);
    }
}
