//! Shared harness for black-box tests: a sandbox running in the test process and
//! the real `pkgsync` binary run against it, as a user would.

use pkgsync_sandbox::{Sandbox, Seed};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct World {
    pub runtime: tokio::runtime::Runtime,
    pub sandbox: Option<Sandbox>,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl World {
    pub fn demo() -> Self {
        Self::with_seed(Seed::demo())
    }

    pub fn with_seed(seed: Seed) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sandbox = runtime.block_on(Sandbox::start(seed)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, pkgsync::demo::sandbox_config(&sandbox)).unwrap();
        Self {
            runtime,
            sandbox: Some(sandbox),
            dir,
            config,
        }
    }

    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox.as_ref().unwrap()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config(&self) -> &str {
        self.config.to_str().unwrap()
    }

    /// Runs the binary with a clean environment: no credentials of the user, a
    /// private cache, and fast retries.
    pub fn pkgsync(&self, args: &[&str]) -> Run {
        self.pkgsync_with(args, &[])
    }

    /// Like [`World::pkgsync`], with extra environment variables.
    pub fn pkgsync_with(&self, args: &[&str], envs: &[(&str, &str)]) -> Run {
        let output = pkgsync_command(self.dir.path())
            .args(args)
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        Run::from(output)
    }

    /// `pkgsync plan --out <dir>/<name>`, which must succeed; returns the path.
    pub fn plan_out(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        self.pkgsync(&[
            "plan",
            "--config",
            self.config(),
            "--out",
            path.to_str().unwrap(),
        ])
        .expect(0);
        path
    }

    /// Replaces `from` (which must be there) by `to` in the config file.
    pub fn edit_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        assert!(text.contains(from), "`{from}` in the config");
        std::fs::write(&self.config, text.replace(from, to)).unwrap();
    }

    /// `plan` fails (exit 1) saying each of `says` on stderr, and the demo
    /// repository holds what it held.
    pub fn plan_refused(&self, says: &[&str]) -> Run {
        let before = self.stored();
        let run = self.pkgsync(&["plan", "--config", self.config()]).expect(1);
        for word in says {
            assert!(run.stderr.contains(word), "{word:?} in:\n{}", run.stderr);
        }
        assert_eq!(self.stored(), before, "the plan changed nothing");
        run
    }

    /// Stored packages of the demo repository, as (distro/version/filename, sha256).
    pub fn stored(&self) -> Vec<(String, String)> {
        let mut stored: Vec<(String, String)> = self
            .sandbox()
            .packagecloud()
            .packages(pkgsync_sandbox::demo::DEMO_PC_REPO)
            .into_iter()
            .map(|p| (format!("{}/{}", p.distro_version, p.filename), p.sha256))
            .collect();
        stored.sort();
        stored
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            self.runtime.block_on(sandbox.shutdown());
        }
    }
}

/// The binary under test: the test build's, or `PKGSYNC_BIN` (say, a release
/// build, for benchmark figures).
pub fn pkgsync_command(home: &Path) -> Command {
    let binary =
        std::env::var_os("PKGSYNC_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_pkgsync").into());
    let mut command = Command::new(binary);
    command
        .env_remove("PACKAGECLOUD_TOKEN")
        .env_remove("PACKAGECLOUD_PROMOTE_TOKEN")
        .env_remove("OBS_USER")
        .env_remove("OBS_PASSWORD")
        .env_remove("OSC_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("PKGSYNC_NOW")
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("NO_COLOR", "1")
        .env("PKGSYNC_RETRY_BASE_MS", "5");
    command
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    #[track_caller]
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// What [`run_measured`] saw of a run.
pub struct Measured {
    pub run: Run,
    /// Peak resident memory in KiB.
    pub peak_kib: u64,
    /// User + system CPU time, from the last reading before the process ended.
    pub cpu_secs: f64,
}

/// Runs the binary as [`World::pkgsync`] does and measures it.
///
/// The peak is the kernel's high-water mark of the process's own memory
/// (`VmHWM`), read while it runs. `wait4`'s `ru_maxrss` cannot be used: a child
/// spawned with vfork inherits the test process's (large) high-water mark.
pub fn run_measured(home: &Path, args: &[&str], envs: &[(&str, &str)]) -> Measured {
    let mut child = pkgsync_command(home)
        .args(args)
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let status_file = format!("/proc/{}/status", child.id());
    let stat_file = format!("/proc/{}/stat", child.id());
    let mut peak_kib = 0;
    let mut cpu_ticks = 0;
    let status = loop {
        let hwm = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        });
        if let Some(hwm) = hwm {
            peak_kib = peak_kib.max(hwm);
        }
        // utime and stime: fields 14 and 15, i.e. 12 and 13 after "pid (comm)".
        let ticks = std::fs::read_to_string(&stat_file).ok().and_then(|s| {
            let fields: Vec<u64> = s
                .rsplit_once(") ")?
                .1
                .split_whitespace()
                .skip(11)
                .take(2)
                .map(|f| f.parse().ok())
                .collect::<Option<_>>()?;
            Some(fields.iter().sum::<u64>())
        });
        if let Some(ticks) = ticks {
            cpu_ticks = cpu_ticks.max(ticks);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    };
    Measured {
        run,
        peak_kib,
        // Linux reports CPU time in USER_HZ, which is 100 on every architecture.
        cpu_secs: cpu_ticks as f64 / 100.0,
    }
}
