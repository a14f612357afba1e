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
