//! Benchmark: memory of an apply does not grow with file size. Uploads a 1 MiB
//! and a 1 GiB deb through the real binary, side by side, and prints the peak
//! resident memory of each run and their ratio. Asserts only what must hold on any
//! machine: the 1 GiB run stays far below the file size.

use crate::support;
use pkgsync_sandbox::demo::{DEMO_DEB_REPOSITORY, DEMO_OBS_PROJECT, DEMO_PC_REPO};
use pkgsync_sandbox::{Sandbox, Seed};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

const MIB: u64 = 1024 * 1024;

/// Writes a real deb whose data member holds one file of `size` bytes, streaming,
/// so the test itself never holds it twice.
fn write_deb(path: &Path, name: &str, size: u64) {
    let control = format!(
        "Package: {name}\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Bench <bench@example.com>\nDescription: memory benchmark\n"
    );
    let mut control_tar = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(control.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    control_tar
        .append_data(&mut header, "./control", control.as_bytes())
        .unwrap();
    let control_tar = control_tar.into_inner().unwrap().finish().unwrap();

    let data_path = path.with_extension("data.tar");
    {
        let mut data_tar = tar::Builder::new(std::fs::File::create(&data_path).unwrap());
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        // Not all zeros, so nothing along the way can shortcut it.
        let pattern: Vec<u8> = (0..MIB).map(|i| (i * 7 % 251) as u8).collect();
        let reader = std::iter::repeat(pattern).flatten().take(size as usize);
        let mut source = IterReader(Box::new(reader));
        data_tar
            .append_data(&mut header, "./usr/share/bench/blob", &mut source)
            .unwrap();
        data_tar.finish().unwrap();
    }
    let mut deb = ar::Builder::new(std::fs::File::create(path).unwrap());
    let mut add = |name: &str, len: u64, reader: &mut dyn Read| {
        let mut header = ar::Header::new(name.as_bytes().to_vec(), len);
        header.set_mode(0o100644);
        deb.append(&header, reader).unwrap();
    };
    add("debian-binary", 4, &mut &b"2.0\n"[..]);
    add(
        "control.tar.gz",
        control_tar.len() as u64,
        &mut &control_tar[..],
    );
    let data_len = std::fs::metadata(&data_path).unwrap().len();
    add(
        "data.tar",
        data_len,
        &mut std::fs::File::open(&data_path).unwrap(),
    );
    std::fs::remove_file(&data_path).unwrap();
}

struct IterReader(Box<dyn Iterator<Item = u8>>);
impl Read for IterReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        for slot in buf.iter_mut() {
            match self.0.next() {
                Some(b) => *slot = b,
                None => break,
            }
            n += 1;
        }
        Ok(n)
    }
}

struct Measurement {
    size: u64,
    peak_kib: u64,
    seconds: f64,
}

fn measure(size: u64) -> Measurement {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("bench-{}", size / MIB);
    let filename = format!("{name}_1.0-1_amd64.deb");
    let deb_path = dir.path().join(&filename);
    write_deb(&deb_path, &name, size);
    let mut bytes = Vec::new();
    std::fs::File::open(&deb_path)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    std::fs::remove_file(&deb_path).unwrap();
    let deb_size = bytes.len() as u64;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut seed = Seed::demo();
    seed.obs.project(DEMO_OBS_PROJECT).set_binary(
        DEMO_DEB_REPOSITORY,
        "x86_64",
        &name,
        &filename,
        bytes,
        1_800_000_000,
    );
    let sandbox: Sandbox = runtime.block_on(Sandbox::start(seed)).unwrap();
    let config = dir.path().join("config.yaml");
    let mut text =
        pkgsync::demo::sandbox_config(&sandbox).replace("mode: mirror", "mode: additive");
    text.push_str(&format!("filters:\n  packages:\n    include: [\"{name}\"]\n  repositories:\n    include: [\"{DEMO_DEB_REPOSITORY}\"]\n"));
    std::fs::File::create(&config)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let plan = dir.path().join("plan.json");
    let support::Measured { run, .. } = support::run_measured(
        dir.path(),
        &[
            "plan",
            "--config",
            config.to_str().unwrap(),
            "--out",
            plan.to_str().unwrap(),
        ],
        &[],
    );
    run.expect(0);

    let started = Instant::now();
    let support::Measured { run, peak_kib, .. } = support::run_measured(
        dir.path(),
        &[
            "apply",
            plan.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "-q",
        ],
        &[],
    );
    let seconds = started.elapsed().as_secs_f64();
    run.expect(0);
    let stored = sandbox.packagecloud().packages(DEMO_PC_REPO);
    assert!(
        stored
            .iter()
            .any(|p| p.filename == filename && p.size == deb_size),
        "the whole file arrived under its name"
    );
    runtime.block_on(sandbox.shutdown());
    Measurement {
        size,
        peak_kib,
        seconds,
    }
}

#[test]
#[ignore = "a benchmark: slow, prints figures, runs alone; run by ./tests/run"]
fn apply_memory_does_not_grow_with_file_size() {
    let small = measure(MIB);
    let large = measure(1024 * MIB);
    for m in [&small, &large] {
        println!(
            "bench apply upload: file {:>5} MiB  peak RSS {:>6.1} MiB  {:>5.1} s  {:>6.1} MiB/s",
            m.size / MIB,
            m.peak_kib as f64 / 1024.0,
            m.seconds,
            m.size as f64 / MIB as f64 / m.seconds
        );
    }
    let ratio = large.peak_kib as f64 / small.peak_kib as f64;
    println!(
        "bench apply upload: peak RSS ratio 1 GiB / 1 MiB = {ratio:.2} (file size ratio 1024)"
    );
    assert!(
        large.peak_kib * 1024 < large.size / 8,
        "peak memory {} KiB is not far below the file size",
        large.peak_kib
    );
}

/// Bytes of `_result` the loopback OBS sends.
const RESULT_BYTES: u64 = 300 * MIB;
/// Packages it lists, each with one rpm and build-area filler (logs,
/// statistics) that makes up the size, as in a real large project.
const RESULT_PACKAGES: u64 = 2_000;

/// The `_result` of one repository × arch, generated piece by piece.
fn result_pieces() -> impl Iterator<Item = String> {
    let head = format!(
        "<resultlist state=\"00000000000000000000000000000000\">\n  <result project=\"{DEMO_OBS_PROJECT}\" repository=\"Fedora_39\" arch=\"x86_64\" code=\"published\" state=\"published\">\n"
    );
    let filler = "      <binary filename=\"_statistics\" size=\"113\" mtime=\"1795235505\"/>\n";
    let per_package = (RESULT_BYTES / RESULT_PACKAGES) as usize / filler.len();
    let packages = (0..RESULT_PACKAGES).map(move |i| {
        let mut piece = format!(
            "    <binarylist package=\"bench{i}\">\n      <binary filename=\"bench{i}-1.0-1.1.x86_64.rpm\" size=\"1000\" mtime=\"1795235505\"/>\n"
        );
        piece.push_str(&filler.repeat(per_package));
        piece.push_str("    </binarylist>\n");
        piece
    });
    let statuses = (0..RESULT_PACKAGES)
        .map(|i| format!("    <status package=\"bench{i}\" code=\"succeeded\"/>\n"));
    std::iter::once(head)
        .chain(statuses)
        .chain(packages)
        .chain(std::iter::once("  </result>\n</resultlist>\n".to_string()))
}

/// A loopback OBS of one project that answers `_meta` and a generated
/// `_result` (close-delimited, streamed); returns its URL and how many bytes
/// of `_result` it sent.
async fn large_result_obs() -> (String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let ok = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n";
                let _ = socket.write_all(ok.as_bytes()).await;
                if head.contains("/_meta") {
                    let meta = format!(
                        "<project name=\"{DEMO_OBS_PROJECT}\">\n  <repository name=\"Fedora_39\">\n    <arch>x86_64</arch>\n  </repository>\n</project>\n"
                    );
                    let _ = socket.write_all(meta.as_bytes()).await;
                } else if head.contains("/_result") {
                    for piece in result_pieces() {
                        if socket.write_all(piece.as_bytes()).await.is_err() {
                            break;
                        }
                        counter.fetch_add(piece.len() as u64, Ordering::Relaxed);
                    }
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, sent)
}

#[test]
#[ignore = "a benchmark: slow, prints figures, runs alone; run by ./tests/run"]
fn a_300_mb_result_is_planned_within_256_mib() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sandbox: Sandbox = runtime.block_on(Sandbox::start(Seed::demo())).unwrap();
    let (obs_url, sent) = runtime.block_on(large_result_obs());
    let config = dir.path().join("config.yaml");
    let text = pkgsync::demo::sandbox_config(&sandbox)
        .replace(&sandbox.obs_url().to_string(), &obs_url)
        .replace("mode: mirror", "mode: additive");
    std::fs::write(&config, text).unwrap();
    let plan = dir.path().join("plan.json");
    let started = Instant::now();
    let support::Measured { run, peak_kib, .. } = support::run_measured(
        dir.path(),
        &[
            "plan",
            "--config",
            config.to_str().unwrap(),
            "--out",
            plan.to_str().unwrap(),
        ],
        &[],
    );
    let seconds = started.elapsed().as_secs_f64();
    run.expect(0);
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "bench plan of a large _result: {:.0} MiB of `_result`, {RESULT_PACKAGES} packages  peak RSS {:.1} MiB  {seconds:.1} s",
        sent as f64 / MIB as f64,
        peak_kib as f64 / 1024.0
    );
    assert!(
        sent >= RESULT_BYTES,
        "the whole `_result` was sent ({sent} bytes)"
    );
    let written = pkgsync::plan::file::read(&plan).unwrap();
    assert_eq!(written.summary.upload as u64, RESULT_PACKAGES);
    assert!(peak_kib < 256 * 1024, "peak RSS {peak_kib} KiB");
    runtime.block_on(sandbox.shutdown());
}
