//! Keys as users have them and signatures as apt judges them: Debian's real
//! keyrings on its real InRelease, keys made by the real gpg with a
//! third-party certification, an expiry, a revocation, a SHA-1 digest;
//! hostile InRelease framing; a missing signature file.

use crate::support::gpg::Gpg;
use crate::support::{World, install_tools};
use pkgsync::config::Keyring;
use pkgsync_sandbox::demo::{DEMO_PC_REPO, DEMO_PC_TOKEN};

fn fixture(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn real_inrelease() -> String {
    std::fs::read_to_string(fixture("deb/real/bookworm-updates-InRelease")).unwrap()
}

/// The fingerprints of Debian's bookworm and trixie archive keys, whose
/// signing subkeys sign the real bookworm-updates InRelease (as gpgv says).
const DEBIAN_SIGNERS: [&str; 2] = [
    "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8",
    "04B54C3CDCA79751B16BC6B5225629DF75B188BD",
];

/// apt's binary keyring and an armored key from trusted.gpg.d (which
/// carries certifications by other Debian keys) both verify Debian's real
/// InRelease, by a signing subkey.
#[test]
fn the_real_debian_keyrings_verify_the_real_inrelease() {
    for file in [
        "keys/debian-archive-keyring.gpg",
        "keys/debian-archive-bookworm-automatic.asc",
    ] {
        let keyring = Keyring::load(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let (message, fingerprint) = keyring
            .verify_cleartext(&real_inrelease())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            DEBIAN_SIGNERS.contains(&fingerprint.as_str()),
            "{fingerprint}"
        );
        assert!(message.starts_with("Origin: Debian\n"), "{message}");
        assert!(message.contains("Codename: bookworm-updates\n"));
    }
    let binary = Keyring::load(&fixture("keys/debian-archive-keyring.gpg")).unwrap();
    assert!(
        binary.fingerprints().len() >= 6,
        "{:?}",
        binary.fingerprints()
    );
}

/// 8 MiB of unsigned lines after a genuine InRelease: refused in one line,
/// without the appended bytes, in bounded time.
#[test]
fn data_appended_after_the_real_inrelease_is_refused_quickly_in_one_line() {
    let keyring = Keyring::load(&fixture("keys/debian-archive-keyring.gpg")).unwrap();
    let mut text = real_inrelease();
    text.push_str(&"Package: evil\nVersion: 1\n\n".repeat(8 * 1024 * 1024 / 27));
    let started = std::time::Instant::now();
    let error = keyring.verify_cleartext(&text).unwrap_err();
    let took = started.elapsed();
    eprintln!("8 MiB appended: refused in {took:?}");
    assert!(
        error.contains("data follows the signature block"),
        "{error}"
    );
    assert!(
        !error.contains('\n') && !error.contains("evil") && error.len() < 200,
        "{error}"
    );
    assert!(took.as_secs() < 20, "{took:?}");
    // Data before the armor is refused too.
    let before = format!("Origin: evil\n{}", real_inrelease());
    let error = keyring.verify_cleartext(&before).unwrap_err();
    assert!(error.contains("first line"), "{error}");
}

/// A changed byte is a BAD signature by the key that made it; a keyring
/// without that key says no given key made it, naming the issuer it claims.
#[test]
fn a_changed_text_and_a_wrong_key_say_different_things() {
    let keyring = Keyring::load(&fixture("keys/debian-archive-keyring.gpg")).unwrap();
    let tampered = real_inrelease().replacen("Label: Debian", "Label: Debiam", 1);
    let error = keyring.verify_cleartext(&tampered).unwrap_err();
    assert!(
        error.contains("no valid signature: BAD signature by key "),
        "{error}"
    );
    assert!(error.contains("signed data changed"), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let other = Gpg::new(dir.path(), "other");
    let keyring = Keyring::load(&other.public_key).unwrap();
    let error = keyring.verify_cleartext(&real_inrelease()).unwrap_err();
    for word in [
        "no given key made it",
        other.fingerprint.as_str(),
        "4CB50190207B4758A3F73A796ED0E7B82643E131",
    ] {
        assert!(error.contains(word), "{word:?} in {error}");
    }
}

fn clearsigned_by(key: &Gpg, dir: &std::path::Path, extra: &[&str]) -> String {
    let text = dir.join(format!("Release-{}", key.fingerprint));
    let out = dir.join(format!("InRelease-{}", key.fingerprint));
    std::fs::write(&text, "Origin: test\nSuite: stable\n").unwrap();
    let mut args = extra.to_vec();
    args.extend([
        "--clearsign",
        "--output",
        out.to_str().unwrap(),
        text.to_str().unwrap(),
    ]);
    key.run(&args);
    std::fs::read_to_string(out).unwrap()
}

/// Key A certifies key B; B's export carries A's certification, which is
/// not B's own and is ignored: B's signatures verify with B's file alone.
#[test]
fn a_key_with_a_third_party_certification_verifies() {
    install_tools(&["gnupg"]);
    let dir = tempfile::tempdir().unwrap();
    let a = Gpg::new(dir.path(), "certifier");
    let b = Gpg::new(dir.path(), "archive");
    a.certify(&b);
    let listing = b.run(&["--with-colons", "--check-sigs", &b.fingerprint]);
    let short = &a.fingerprint[24..];
    assert!(
        listing.contains(short),
        "A's certification on B:\n{listing}"
    );
    let keyring = Keyring::load(&b.public_key).unwrap();
    let (message, fingerprint) = keyring
        .verify_cleartext(&clearsigned_by(&b, dir.path(), &[]))
        .unwrap();
    assert_eq!(fingerprint, b.fingerprint);
    assert_eq!(message, "Origin: test\nSuite: stable");
}

/// A signature made after the key's expiry (the key made in 2020, a
/// signature in June, the expiry then set to January) does not count.
#[test]
fn a_signature_by_an_expired_key_is_refused_naming_the_date() {
    install_tools(&["gnupg"]);
    let dir = tempfile::tempdir().unwrap();
    let key = Gpg::generate(
        dir.path(),
        "expiring",
        "ed25519",
        &["--faked-system-time", "20200101T000000!"],
    );
    let signed = clearsigned_by(
        &key,
        dir.path(),
        &["--faked-system-time", "20200601T000000!"],
    );
    key.run(&[
        "--faked-system-time",
        "20200101T010000!",
        "--quick-set-expire",
        &key.fingerprint,
        "2d",
    ]);
    key.export();
    let keyring = Keyring::load(&key.public_key).unwrap();
    let error = keyring.verify_cleartext(&signed).unwrap_err();
    let expected = format!(
        "signed by key {}, which expired on 2020-01-03",
        key.fingerprint
    );
    assert!(error.contains(&expected), "{expected:?} in {error}");
}

/// A revoked key (gpg's own revocation certificate imported) does not count.
#[test]
fn a_signature_by_a_revoked_key_is_refused() {
    install_tools(&["gnupg"]);
    let dir = tempfile::tempdir().unwrap();
    let key = Gpg::new(dir.path(), "revoked");
    let signed = clearsigned_by(&key, dir.path(), &[]);
    let home = dir.path().join("gnupg-revoked");
    let certificate = home.join(format!("openpgp-revocs.d/{}.rev", key.fingerprint));
    let text = std::fs::read_to_string(&certificate).unwrap();
    let usable = dir.path().join("revocation.asc");
    std::fs::write(&usable, text.replace(":-----BEGIN", "-----BEGIN")).unwrap();
    key.run(&["--import", usable.to_str().unwrap()]);
    key.export();
    let keyring = Keyring::load(&key.public_key).unwrap();
    let error = keyring.verify_cleartext(&signed).unwrap_err();
    let expected = format!("signed by key {}, which is revoked", key.fingerprint);
    assert!(error.contains(&expected), "{expected:?} in {error}");
}

/// A SHA-1 signature is refused, saying that the digest is why.
#[test]
fn a_sha1_signature_is_refused_for_its_digest() {
    install_tools(&["gnupg"]);
    let dir = tempfile::tempdir().unwrap();
    let key = Gpg::generate(dir.path(), "old", "rsa2048", &[]);
    let signed = clearsigned_by(&key, dir.path(), &["--digest-algo", "SHA1"]);
    assert!(signed.contains("Hash: SHA1"), "{signed}");
    let keyring = Keyring::load(&key.public_key).unwrap();
    let error = keyring.verify_cleartext(&signed).unwrap_err();
    assert!(error.contains("weak digest SHA1"), "{error}");
}

/// A web server that answers a missing file with an HTML page (Python's
/// http.server), serving `dir`; stopped when dropped.
struct HtmlServer(std::process::Child, u16);

impl HtmlServer {
    fn start(dir: &std::path::Path) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new("python3")
            .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
            .current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.split(" port ").nth(1).unwrap();
        let port = port.split_whitespace().next().unwrap().parse().unwrap();
        Self(child, port)
    }
}

impl Drop for HtmlServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `Release` without `Release.gpg` beside it: one line naming the file
/// and the status, none of the server's HTML page.
#[test]
fn a_missing_signature_file_is_named_with_its_status_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let key = Gpg::new(dir.path(), "archive");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("Release"), "Origin: test\n").unwrap();
    let server = HtmlServer::start(dir.path());
    let world = World::demo();
    let config = format!(
        "deb:\n  - url: http://127.0.0.1:{}/repo\n    distro: ubuntu/jammy\n    signed_by: {}\n\
packagecloud:\n  url: {}\n  repo: {DEMO_PC_REPO}\n  auth:\n    token: {DEMO_PC_TOKEN}\n",
        server.1,
        key.public_key.display(),
        world.sandbox().packagecloud_url()
    );
    std::fs::write(&world.config, config).unwrap();
    let run = world
        .pkgsync(&["plan", "--config", world.config()])
        .expect(1);
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("Release.gpg"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(
        line.contains("cannot read the signature") && line.contains("answered 404 Not Found"),
        "{line}"
    );
    assert!(!run.stderr.to_lowercase().contains("<html") && !run.stderr.contains("DOCTYPE"));
}
