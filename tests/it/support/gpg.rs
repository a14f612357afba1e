//! A throwaway OpenPGP key made by the real gpg, for signing test repositories.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Gpg {
    home: PathBuf,
    /// The armored public key, as a repository's users get it.
    pub public_key: PathBuf,
    pub fingerprint: String,
}

impl Gpg {
    /// A new ed25519 signing key in its own `GNUPGHOME` under `dir`.
    pub fn new(dir: &Path, name: &str) -> Self {
        Self::generate(dir, name, "ed25519", &[])
    }

    /// A new signing key of `algorithm`; `extra` goes before the command
    /// (`--faked-system-time` to make it in the past).
    pub fn generate(dir: &Path, name: &str, algorithm: &str, extra: &[&str]) -> Self {
        let home = dir.join(format!("gnupg-{name}"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let gpg = Self {
            public_key: dir.join(format!("{name}.asc")),
            home,
            fingerprint: String::new(),
        };
        let user_id = format!("{name} <{name}@example.org>");
        let mut args = extra.to_vec();
        args.extend([
            "--passphrase",
            "",
            "--quick-gen-key",
            &user_id,
            algorithm,
            "sign",
            "never",
        ]);
        gpg.run(&args);
        gpg.export();
        let listing = gpg.run(&["--with-colons", "--fingerprint"]);
        let fingerprint = listing
            .lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap()
            .to_string();
        Self { fingerprint, ..gpg }
    }

    /// Writes the armored public key(s) of this home to `public_key` again.
    pub fn export(&self) {
        self.run(&[
            "--armor",
            "--output",
            self.public_key.to_str().unwrap(),
            "--export",
        ]);
    }

    /// This key certifies `other`'s user ID; `other`'s exported key then
    /// carries that third-party certification.
    pub fn certify(&self, other: &Gpg) {
        let exported = self.home.join("certified.asc");
        self.run(&["--import", other.public_key.to_str().unwrap()]);
        self.run(&["--quick-sign-key", &other.fingerprint]);
        self.run(&[
            "--armor",
            "--output",
            exported.to_str().unwrap(),
            "--export",
            &other.fingerprint,
        ]);
        other.run(&["--import", exported.to_str().unwrap()]);
        other.export();
    }

    /// `file.asc` beside `file`: an armored detached signature.
    pub fn detach_sign(&self, file: &Path) {
        let out = format!("{}.asc", file.display());
        self.run(&[
            "--armor",
            "--detach-sign",
            "--output",
            &out,
            file.to_str().unwrap(),
        ]);
    }

    /// `out`: `file` clearsigned.
    pub fn clearsign(&self, file: &Path, out: &Path) {
        self.run(&[
            "--clearsign",
            "--output",
            out.to_str().unwrap(),
            file.to_str().unwrap(),
        ]);
    }

    /// Any gpg command in this home (`--batch`, no passphrase); its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let output = Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(["--batch", "--quiet", "--yes", "--pinentry-mode", "loopback"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

/// The real gpg with only the given public key(s) imported, in a
/// `GNUPGHOME` of its own: verifies as a user who trusts that key does.
pub struct Verifier {
    home: PathBuf,
}

impl Verifier {
    pub fn new(dir: &Path, key: &Path) -> Self {
        let home = dir.join("gnupg-verifier");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let verifier = Self { home };
        let import = verifier.gpg(&["--import", key.to_str().unwrap()]);
        assert!(
            import.status.success(),
            "gpg --import: {}",
            String::from_utf8_lossy(&import.stderr)
        );
        verifier
    }

    /// `gpg --verify` of `files` (a signature, then the data it signs, if
    /// detached): its `--status-fd` lines, whatever the verdict.
    pub fn status(&self, files: &[PathBuf]) -> String {
        let mut args = vec!["--status-fd", "1", "--verify"];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        String::from_utf8(self.gpg(&args).stdout).unwrap()
    }

    fn gpg(&self, args: &[&str]) -> std::process::Output {
        Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(["--batch", "--quiet"])
            .args(args)
            .output()
            .unwrap()
    }
}
