//! The config as users write it: kata-pkgsync's files load unchanged, and bad
//! input fails with an error naming what and where, through the real binary.

use pkgsync::config::{Config, Environment, TokenSource};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

#[test]
fn kata_example_config_loads_unchanged_with_kata_expansion() {
    let config = Config::load(
        &fixture("kata-config-example.yaml"),
        &Environment::default(),
    )
    .unwrap();
    let names: Vec<&str> = config
        .obs
        .projects
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "home:katacontainers:releases:x86_64:master",
            "home:katacontainers:releases:x86_64:stable-1.5",
            "home:katacontainers:releases:x86_64:stable-1.6",
        ]
    );
    let credentials = config.obs.projects[0].credentials.as_ref().unwrap();
    assert_eq!(credentials.user, "foo");
    assert_eq!(credentials.password.expose(), "bar");
    assert_eq!(config.packagecloud.repo, "baz/testing");
    assert_eq!(
        config.packagecloud.token.as_ref().unwrap().expose(),
        "abc1234"
    );
    assert_eq!(config.obs.url, "https://api.opensuse.org");
    assert_eq!(config.packagecloud.url, "https://packagecloud.io");
    // `Fedora_29         :` is the key `Fedora_29`; `CentOS_7          :` means skip.
    assert_eq!(
        config.distro_mapping["Fedora_29"].as_deref(),
        Some("fedora/29")
    );
    assert_eq!(config.distro_mapping["CentOS_7"], None);
    assert_eq!(config.distro_mapping["openSUSE_Tumbleweed"], None);
    assert_eq!(config.distro_mapping.len(), 11);
    assert!(config.scope().contains("ubuntu/bionic"));
    assert!(!config.scope().iter().any(String::is_empty));
}

#[test]
fn kata_ci_variant_without_auth_takes_credentials_from_the_environment() {
    let env = Environment {
        obs_user: Some("ci".into()),
        obs_password: Some("pw".into()),
        packagecloud_token: Some("tok".into()),
        packagecloud_file: None,
    };
    let config = Config::load(&fixture("kata-pr660.yaml"), &env).unwrap();
    assert_eq!(config.packagecloud.repo, "katacontainers/testing");
    assert_eq!(config.packagecloud.token_source, TokenSource::Environment);
    assert!(
        config
            .obs
            .projects
            .iter()
            .all(|p| p.credentials.as_ref().unwrap().user == "ci")
    );
    assert_eq!(config.obs.projects.len(), 3);
}

#[test]
fn environment_takes_precedence_over_the_file() {
    let env = Environment {
        packagecloud_token: Some("from-env".into()),
        obs_user: Some("env-user".into()),
        obs_password: Some("env-pw".into()),
        packagecloud_file: None,
    };
    let config = Config::load(&fixture("kata-config-example.yaml"), &env).unwrap();
    assert_eq!(config.packagecloud.token.unwrap().expose(), "from-env");
    assert_eq!(
        config.obs.projects[0].credentials.as_ref().unwrap().user,
        "env-user"
    );
}

#[test]
fn packagecloud_cli_file_is_the_last_resort_for_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let cli_file = dir.path().join(".packagecloud");
    std::fs::write(
        &cli_file,
        r#"{"url":"https://packagecloud.io","token":"cli-token"}"#,
    )
    .unwrap();
    let env = Environment {
        packagecloud_file: Some(cli_file.clone()),
        ..Environment::default()
    };
    let config = Config::load(&fixture("kata-pr660.yaml"), &env).unwrap();
    assert_eq!(config.packagecloud.token.unwrap().expose(), "cli-token");
    assert_eq!(
        config.packagecloud.token_source,
        TokenSource::PackagecloudFile(cli_file)
    );
}

#[test]
fn the_example_config_documents_a_valid_config() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config-example.yaml");
    let config = Config::load(&path, &Environment::default()).unwrap();
    assert_eq!(
        config.obs.projects[0].name,
        "home:katacontainers:releases:x86_64:stable-3.2"
    );
}

#[test]
fn releases_stay_strings() {
    let text = "obsprojects:\n  p:\n    releases: [1.10, 2]\npackagecloud:\n  repo: a/b\ndistro-mapping: {}\n";
    let config = Config::parse(text, Path::new("x.yaml"), &Environment::default()).unwrap();
    assert_eq!(config.obs.projects[0].name, "p:1.10");
    assert_eq!(config.obs.projects[1].name, "p:2");
}

fn pkgsync(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_pkgsync"))
        .args(args)
        .env_remove("PACKAGECLOUD_TOKEN")
        .env_remove("OBS_USER")
        .env_remove("OBS_PASSWORD")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn unknown_key_is_named_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "obsprojects:\n  p: {}\npackagecloud:\n  repo: a/b\n  tokn: x\ndistro-mapping: {}\n",
    )
    .unwrap();
    let (code, stdout, stderr) = pkgsync(&["plan", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.starts_with("error: invalid config file"), "{stderr}");
    assert!(stderr.contains("unknown field `tokn`"), "{stderr}");
    assert!(stderr.contains("line 5 column 3"), "{stderr}");
    assert!(stderr.contains("bad.yaml"), "{stderr}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let (code, _, stderr) = pkgsync(&["plan", "--config", "/nonexistent/pkgsync.yaml"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("cannot read config file `/nonexistent/pkgsync.yaml`"),
        "{stderr}"
    );
    assert!(stderr.contains("caused by: No such file"), "{stderr}");
}

#[test]
fn invalid_yaml_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, "obsprojects:\n  p: [\npackagecloud: {\n").unwrap();
    let (code, _, stderr) = pkgsync(&["plan", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(stderr.contains("invalid config file"), "{stderr}");
    assert!(stderr.contains("line "), "{stderr}");
}

#[test]
fn obsolete_name_key_is_accepted_with_a_warning_naming_its_line() {
    let text = "obsprojects:\n  home:x:\n    name: something\npackagecloud:\n  repo: a/b\ndistro-mapping: {}\n";
    let config = Config::parse(text, Path::new("x.yaml"), &Environment::default()).unwrap();
    assert_eq!(config.warnings.len(), 1);
    assert!(
        config.warnings[0].contains("`obsprojects.home:x.name` (line 3)"),
        "{:?}",
        config.warnings
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let config = Config::load(
        &fixture("kata-config-example.yaml"),
        &Environment::default(),
    )
    .unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("abc1234"));
    assert!(!debug.contains("\"bar\""));
    let effective = serde_json::to_string(&config.effective()).unwrap();
    assert!(!effective.contains("abc1234") && !effective.contains("bar\""));
}
