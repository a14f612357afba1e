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
    let scope = pkgsync::plan::policy::scope(&config.distro_mapping, &config.filters);
    assert!(scope.contains("ubuntu/bionic"));
    assert!(!scope.iter().any(String::is_empty));
}

#[test]
fn kata_ci_variant_without_auth_takes_credentials_from_the_environment() {
    let env = Environment {
        obs_user: Some("ci".into()),
        obs_password: Some("pw".into()),
        packagecloud_token: Some("tok".into()),
        ..Environment::default()
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
        ..Environment::default()
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

/// osc's obfuscation of a password: base64 of bzip2.
fn passx(password: &str) -> String {
    use base64::Engine;
    use std::io::Write;
    let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
    encoder.write_all(password.as_bytes()).unwrap();
    base64::engine::general_purpose::STANDARD.encode(encoder.finish().unwrap())
}

/// kata-pr660.yaml (no OBS auth) against `obs.url` = https://api.opensuse.org,
/// with the given oscrc.
fn with_oscrc(
    text: &str,
) -> (
    tempfile::TempDir,
    Result<Config, pkgsync::config::ConfigError>,
) {
    let dir = tempfile::tempdir().unwrap();
    let oscrc = dir.path().join("oscrc");
    std::fs::write(&oscrc, text).unwrap();
    let env = Environment {
        packagecloud_token: Some("tok".into()),
        oscrc: Some(oscrc),
        ..Environment::default()
    };
    let config = Config::load(&fixture("kata-pr660.yaml"), &env);
    (dir, config)
}

#[test]
fn osc_config_gives_obs_credentials_as_a_last_resort_in_both_password_forms() {
    for (form, line) in [
        ("pass", "pass = plain-secret".to_string()),
        ("passx", format!("passx = {}", passx("plain-secret"))),
    ] {
        let (_dir, config) = with_oscrc(&format!(
            "[general]\napiurl = https://api.opensuse.org\n\n[https://api.opensuse.org/]\nuser = oscuser\n{line}\n"
        ));
        let config = config.unwrap();
        for project in &config.obs.projects {
            let credentials = project.credentials.as_ref().expect(form);
            assert_eq!(credentials.user, "oscuser", "{form}");
            assert_eq!(credentials.password.expose(), "plain-secret", "{form}");
        }
        let note = config.notes.join("\n");
        assert!(note.contains("oscrc") && note.contains("oscuser"), "{note}");
        assert!(!note.contains("plain-secret"), "{note}");
        assert!(!format!("{config:?}").contains("plain-secret"), "{form}");
    }
}

#[test]
fn osc_config_sections_for_other_servers_are_not_used() {
    let (_dir, config) = with_oscrc("[https://api.suse.de]\nuser = other\npass = other-secret\n");
    let config = config.unwrap();
    assert!(config.obs.projects.iter().all(|p| p.credentials.is_none()));
    assert!(config.notes.is_empty());
}

#[test]
fn the_environment_and_the_config_come_before_osc_config() {
    let dir = tempfile::tempdir().unwrap();
    let oscrc = dir.path().join("oscrc");
    std::fs::write(
        &oscrc,
        "[https://api.opensuse.org]\nuser = oscuser\npass = x\n",
    )
    .unwrap();
    let env = Environment {
        obs_user: Some("env-user".into()),
        obs_password: Some("env-pw".into()),
        oscrc: Some(oscrc.clone()),
        ..Environment::default()
    };
    let config = Config::load(&fixture("kata-pr660.yaml"), &env).unwrap();
    assert_eq!(
        config.obs.projects[0].credentials.as_ref().unwrap().user,
        "env-user"
    );
    let env = Environment {
        oscrc: Some(oscrc),
        ..Environment::default()
    };
    let config = Config::load(&fixture("kata-config-example.yaml"), &env).unwrap();
    assert_eq!(
        config.obs.projects[0].credentials.as_ref().unwrap().user,
        "foo"
    );
}

#[test]
fn an_unreadable_osc_password_is_named_with_its_file_and_never_shown() {
    let (dir, config) =
        with_oscrc("[https://api.opensuse.org]\nuser = oscuser\npassx = c2VjcmV0LXZhbHVl\n");
    let message = config.unwrap_err().to_string();
    assert!(
        message.contains(&dir.path().join("oscrc").display().to_string()),
        "{message}"
    );
    assert!(message.contains("passx"), "{message}");
    assert!(
        !message.contains("c2VjcmV0LXZhbHVl") && !message.contains("secret-value"),
        "{message}"
    );

    // A keyring holds the password: a warning naming the file, no credentials.
    let (_dir, config) = with_oscrc(
        "[https://api.opensuse.org]\nuser = oscuser\ncredentials_mgr_class = osc.credentials.KeyringCredentialsManager:keyring.backends.SecretService.Keyring\n",
    );
    let config = config.unwrap();
    assert!(config.obs.projects.iter().all(|p| p.credentials.is_none()));
    assert!(
        config
            .warnings
            .iter()
            .any(|w| w.contains("oscrc") && w.contains("Keyring")),
        "{:?}",
        config.warnings
    );
}

#[test]
fn osc_config_is_read_as_osc_reads_it() {
    // configparser folds key case and keeps quotes as part of the value.
    let (_dir, config) = with_oscrc(
        "[https://api.opensuse.org]\nUser = oscuser\npass = \"quoted secret\"\n  ; an indented comment\n",
    );
    let config = config.unwrap();
    let credentials = config.obs.projects[0].credentials.as_ref().unwrap();
    assert_eq!(credentials.user, "oscuser");
    assert_eq!(credentials.password.expose(), "\"quoted secret\"");

    // A file pkgsync cannot read is a warning, not a failed config.
    let (_dir, config) = with_oscrc("[unterminated\nuser = x\n");
    let config = config.unwrap();
    assert!(config.obs.projects.iter().all(|p| p.credentials.is_none()));
    assert!(
        config.warnings.iter().any(|w| w.contains("oscrc")),
        "{:?}",
        config.warnings
    );
}
