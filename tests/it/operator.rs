//! What an operator meets first: `pkgsync init` against real naming (Packagecloud
//! distributions listed by codename only, a repository that does not exist,
//! mistakes in init's own flags), the man pages, and what a dead proxy looks like.

use crate::support::{self, World};
use pkgsync_sandbox::files::FileServer;
use std::path::Path;

const CREDENTIALS: [(&str, &str); 3] = [
    ("OBS_USER", pkgsync_sandbox::demo::DEMO_OBS_USER),
    ("OBS_PASSWORD", pkgsync_sandbox::demo::DEMO_OBS_PASSWORD),
    ("PACKAGECLOUD_TOKEN", pkgsync_sandbox::demo::DEMO_PC_TOKEN),
];

/// A Packagecloud stand-in whose distributions list names Debian, Raspbian and
/// Ubuntu versions by codename only (no `version_number`), as the live list
/// does for some of them, and which holds the repository `demo/kata`.
fn codename_only_packagecloud(world: &World, dir: &Path) -> FileServer {
    let version = |id: u64, name: &str| serde_json::json!({"id": id, "index_name": name});
    let distributions = serde_json::json!({
        "deb": [
            {"index_name": "debian", "versions": [
                version(1, "etch"), version(2, "lenny"), version(3, "bookworm"), version(4, "forky")]},
            {"index_name": "raspbian", "versions": [version(5, "bookworm")]},
            {"index_name": "ubuntu", "versions": [version(6, "jammy"), version(7, "noble")]},
        ],
        "rpm": [
            {"index_name": "fedora", "versions": [
                {"id": 8, "index_name": "40", "version_number": "40"}]},
        ],
    });
    let api = dir.join("api/v1");
    std::fs::create_dir_all(api.join("repos/demo")).unwrap();
    std::fs::write(api.join("distributions.json"), distributions.to_string()).unwrap();
    std::fs::write(api.join("repos/demo/kata.json"), r#"{"private": false}"#).unwrap();
    world
        .runtime
        .block_on(FileServer::start(dir.to_path_buf()))
        .unwrap()
}

fn seed_with(project: &str, repositories: &[&str]) -> pkgsync_sandbox::Seed {
    let mut seed = pkgsync_sandbox::Seed::demo();
    let obs = seed.obs.project(project);
    for repository in repositories {
        obs.repository(repository, &["x86_64"]);
    }
    seed
}

fn init_args<'a>(
    project: &'a str,
    repo: &'a str,
    obs: &'a str,
    pc: &'a str,
    out: &'a Path,
) -> Vec<&'a str> {
    vec![
        "init",
        "--obs-project",
        project,
        "--repo",
        repo,
        "--obs-url",
        obs,
        "--packagecloud-url",
        pc,
        "--out",
        out.to_str().unwrap(),
    ]
}

#[test]
fn operator_init_maps_debian_family_numbers_to_codename_only_distributions() {
    let world = World::with_seed(seed_with(
        "home:deb",
        &[
            "Debian_12",
            "xUbuntu_22.04",
            "xUbuntu_24.04",
            "Raspbian_12",
            "Fedora_40",
            "Debian_13",
        ],
    ));
    let dir = tempfile::tempdir().unwrap();
    let packagecloud = codename_only_packagecloud(&world, dir.path());
    let out = world.path("deb.yaml");
    let args = init_args(
        "home:deb",
        "demo/kata",
        world.sandbox().obs_url(),
        packagecloud.url(),
        &out,
    );
    let run = world.pkgsync_with(&args, &CREDENTIALS).expect(0);
    let text = std::fs::read_to_string(&out).unwrap();
    for mapped in [
        "Debian_12: debian/bookworm",
        "xUbuntu_22.04: ubuntu/jammy",
        "xUbuntu_24.04: ubuntu/noble",
        "Raspbian_12: raspbian/bookworm",
        "Fedora_40: fedora/40",
    ] {
        assert!(text.contains(mapped), "`{mapped}` in\n{text}");
    }
    // Trixie is not listed: left empty, and named.
    assert!(
        text.lines().any(|l| l.trim() == "Debian_13:   # x86_64"),
        "{text}"
    );
    assert!(
        run.stderr.contains("5 repositories mapped, 1 without"),
        "{}",
        run.stderr
    );
}

#[test]
fn operator_init_refuses_a_missing_repository_unless_forced() {
    let world = World::with_seed(seed_with("home:deb", &["Fedora_40"]));
    let out = world.path("missing.yaml");
    let args = init_args(
        "home:deb",
        "demo/nosuch",
        world.sandbox().obs_url(),
        world.sandbox().packagecloud_url(),
        &out,
    );
    let run = world.pkgsync_with(&args, &CREDENTIALS).expect(1);
    assert!(
        run.stderr.contains("`--repo demo/nosuch`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no repository `demo/nosuch`"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: create the repository"),
        "{}",
        run.stderr
    );
    assert!(!out.exists(), "nothing written");

    let mut forced = args.clone();
    forced.push("--force");
    let run = world.pkgsync_with(&forced, &CREDENTIALS).expect(0);
    assert!(
        run.stderr
            .contains("warning: Packagecloud has no repository"),
        "{}",
        run.stderr
    );
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("repo: demo/nosuch")
    );
}

#[test]
fn operator_init_names_its_own_flags_in_errors() {
    let world = World::with_seed(seed_with("home:deb", &["Fedora_40"]));
    let out = world.path("flags.yaml");
    let (obs, pc) = (
        world.sandbox().obs_url(),
        world.sandbox().packagecloud_url(),
    );

    let run = world
        .pkgsync_with(
            &init_args("home:deb", "no-slash", obs, pc, &out),
            &CREDENTIALS,
        )
        .expect(1);
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("error: invalid `--repo`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("flags.yaml"), "{}", run.stderr);

    let run = world
        .pkgsync_with(
            &init_args("home:nosuch", "demo/kata", obs, pc, &out),
            &CREDENTIALS,
        )
        .expect(1);
    assert!(run.stderr.contains("home:nosuch"), "{}", run.stderr);
    assert!(
        run.stderr.contains("hint: check `--obs-project`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("obsprojects"), "{}", run.stderr);
    assert!(!out.exists());
}

/// The roff of a page as plain text: escapes and font changes removed.
fn plain(roff: &str) -> String {
    roff.replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\fP", "")
}

/// The lines of section `name` (`.SH NAME` up to the next `.SH`).
fn section<'a>(page: &'a str, name: &str) -> Vec<&'a str> {
    page.lines()
        .skip_while(|l| l.trim() != format!(".SH {name}") && l.trim() != format!(".SH \"{name}\""))
        .skip(1)
        .take_while(|l| !l.starts_with(".SH"))
        .collect()
}

#[test]
fn operator_man_pages_list_global_options_and_name_only_written_pages() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("man");
    let run = support::Run::from(
        support::pkgsync_command(home.path())
            .args(["man", "--out-dir", dir.to_str().unwrap()])
            .output()
            .unwrap(),
    )
    .expect(0);
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    assert!(
        pages.contains(&"pkgsync.1".to_string()),
        "{pages:?} {}",
        run.stderr
    );
    assert!(pages.contains(&"pkgsync-apply.1".to_string()), "{pages:?}");
    assert!(pages.len() >= 10, "{pages:?}");
    let referenced = regex_lite_pages();
    for page in &pages {
        let text = plain(&std::fs::read_to_string(dir.join(page)).unwrap());
        let options = section(&text, "OPTIONS").join("\n");
        assert!(
            options.contains("--color"),
            "`--color` in OPTIONS of {page}:\n{text}"
        );
        // Every page it names is written.
        for name in referenced(&text) {
            assert!(
                pages.contains(&format!("{name}.1")),
                "{page} names `{name}(1)`, not written"
            );
        }
        let Some(command) = page
            .strip_prefix("pkgsync-")
            .and_then(|p| p.strip_suffix(".1"))
        else {
            continue;
        };
        let synopsis = section(&text, "SYNOPSIS").join(" ");
        assert!(
            synopsis.contains(&format!("pkgsync {command}")),
            "{page} synopsis: {synopsis}"
        );
        assert!(
            !synopsis.contains(&format!("pkgsync-{command}")),
            "{page}: {synopsis}"
        );
    }
    let diff = plain(&std::fs::read_to_string(dir.join("pkgsync-diff.1")).unwrap());
    assert!(diff.contains("The earlier plan file"), "{diff}");
    let show = plain(&std::fs::read_to_string(dir.join("pkgsync-show.1")).unwrap());
    assert!(show.contains("markdown"), "{show}");
}

/// The `pkgsync…(1)` page names a page's text refers to.
fn regex_lite_pages() -> impl Fn(&str) -> Vec<String> {
    |text: &str| {
        let mut names = Vec::new();
        for (at, _) in text.match_indices("(1)") {
            let before = &text[..at];
            let start = before
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .map_or(0, |i| i + 1);
            let name = &before[start..];
            if name.starts_with("pkgsync") {
                names.push(name.to_string());
            }
        }
        names
    }
}

#[test]
fn operator_diff_prints_each_change_once() {
    let world = World::demo();
    let first = world.plan_out("first.json");
    let applied = world.path("applied.json");
    std::fs::copy(&first, &applied).unwrap();
    world
        .pkgsync(&[
            "apply",
            applied.to_str().unwrap(),
            "--config",
            world.config(),
        ])
        .expect(0);
    let second = world.plan_out("second.json");
    let run = world
        .pkgsync(&["diff", first.to_str().unwrap(), second.to_str().unwrap()])
        .expect(1);
    let planned = pkgsync::plan::file::read(&first).unwrap();
    assert!(!planned.actions.is_empty());
    for action in &planned.actions {
        assert_eq!(
            run.stdout.matches(action.filename.as_str()).count(),
            1,
            "`{}` once in\n{}",
            action.filename,
            run.stdout
        );
    }
    assert!(!run.stdout.contains("md5 -"), "{}", run.stdout);
    assert!(run.stdout.contains("summary: Plan: "), "{}", run.stdout);
}

#[test]
fn operator_demo_dir_keeps_the_signing_key_its_config_names() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("kept");
    let run = support::Run::from(
        support::pkgsync_command(home.path())
            .args(["demo", "--dir", dir.to_str().unwrap()])
            .output()
            .unwrap(),
    )
    .expect(0);
    let config = std::fs::read_to_string(dir.join("demo-published.yaml")).unwrap();
    let keys: Vec<&str> = config
        .lines()
        .filter_map(|l| l.trim().strip_prefix("signed_by: "))
        .collect();
    assert_eq!(keys.len(), 2, "{config}");
    for key in keys {
        let key = Path::new(key);
        assert!(
            key.starts_with(dir.canonicalize().unwrap()),
            "{}",
            key.display()
        );
        let text = std::fs::read_to_string(key).unwrap();
        assert!(text.contains("BEGIN PGP PUBLIC KEY BLOCK"), "{text}");
    }
    assert!(
        run.stdout.contains("pkgsync sandbox --write-config"),
        "{}",
        run.stdout
    );
}

/// A port on loopback nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn operator_a_dead_proxy_is_named_and_every_retry_reported() {
    let world = World::demo();
    let port = closed_port();
    let proxy = format!("http://user:proxy-secret@127.0.0.1:{port}");
    let envs = [
        ("http_proxy", proxy.as_str()),
        ("no_proxy", ""),
        ("NO_PROXY", ""),
        ("PKGSYNC_RETRY_BASE_MS", "20"),
    ];
    let started = std::time::Instant::now();
    let run = world
        .pkgsync_with(&["plan", "--config", world.config()], &envs)
        .expect(1);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let named = format!("via proxy 127.0.0.1:{port}");
    // The error and its causes, whichever request failed first.
    let error = &run.stderr[run.stderr.find("error: ").expect("an error")..];
    assert!(error.contains(&named), "{}", run.stderr);
    assert!(
        !run.stderr.contains("proxy-secret") && !run.stderr.contains("user:"),
        "{}",
        run.stderr
    );
    // The request the error names was retried five times, each reported once
    // with its number and wait, through the proxy.
    let request = &error[error.find("`GET ").expect("a request named")..];
    let url = request.split('`').nth(1).unwrap();
    let retries: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with(&format!("`{url}`")) && l.contains("; retry "))
        .collect();
    assert_eq!(retries.len(), 5, "{}", run.stderr);
    for (n, line) in retries.iter().enumerate() {
        assert!(line.contains(&named), "{line}");
        assert!(
            line.contains(&format!("; retry {} of 5 in ", n + 1)),
            "{line}"
        );
        assert!(line.ends_with(" s"), "{line}");
    }

    // With `--format json`, the same as JSON events.
    let run = world
        .pkgsync_with(
            &["plan", "--config", world.config(), "--format", "json"],
            &envs,
        )
        .expect(1);
    let events: Vec<serde_json::Value> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.len() >= 5, "{}", run.stderr);
    for event in &events {
        assert_eq!(event["type"], "retry", "{event}");
        assert_eq!(event["proxy"], format!("127.0.0.1:{port}"), "{event}");
        assert_eq!(event["of"], 5, "{event}");
        assert!(event["delay_secs"].is_number(), "{event}");
    }
    assert!(!run.stderr.contains("proxy-secret"), "{}", run.stderr);
}
