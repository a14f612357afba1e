//! Decompression bombs served as a repository's index: small files (made here
//! by the real `xz`, `zstd`, `gzip` and `bzip2`) that unpack to 1 GiB, and an
//! xz file whose header declares a 4 GiB dictionary. Each plan is refused with
//! a line naming the file and the cap, quickly, and the pkgsync process's peak
//! RSS (`VmHWM`, read from /proc while it runs) stays far below what the bomb
//! unpacks to.

use crate::support::{self, World};
use pkgsync_sandbox::files::FileServer;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The default cap on decompressed metadata (`limits.max_metadata_mib`: 128).
const CAP: &str = "134217728";
const MIB: usize = 1 << 20;
const PEAK_LIMIT_KIB: u64 = 256 * 1024;
/// Generous for the test build on 2 shared cores; the release build refuses
/// in well under a second.
const TIME_LIMIT: Duration = Duration::from_secs(20);

/// `input` compressed by the real `tool` with `args`.
fn compress(tool: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("`{tool}` is needed: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{tool} {args:?}");
    out.stdout
}

/// 1 GiB of `byte` once decompressed: 16 concatenated members of 64 MiB each
/// (every decoder reads concatenated streams, as `xz -d` and `gzip -d` do),
/// or one frame for zstd.
fn bomb(tool: &str, byte: u8) -> Vec<u8> {
    if tool == "zstd" {
        return compress("zstd", &["-q", "-1", "-c"], &vec![byte; 1024 * MIB]);
    }
    let args: &[&str] = match tool {
        "xz" => &["-T1", "-1", "-c"],
        _ => &["-9", "-c"],
    };
    compress(tool, args, &vec![byte; 64 * MIB]).repeat(16)
}

/// `dir/rpm`: an rpm-md repository whose `repomd.xml` lists `primary` (its
/// real sha256 and size) as `repodata/primary.xml.<suffix>`.
fn rpm_md(dir: &Path, suffix: &str, primary: &[u8]) -> String {
    let repodata = dir.join("rpm/repodata");
    std::fs::create_dir_all(&repodata).unwrap();
    let name = format!("primary.xml.{suffix}");
    std::fs::write(repodata.join(&name), primary).unwrap();
    let repomd = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n  <revision>1700000000</revision>\n  <data type=\"primary\">\n    <checksum type=\"sha256\">{}</checksum>\n    <location href=\"repodata/{name}\"/>\n    <size>{}</size>\n  </data>\n</repomd>\n",
        hex::encode(Sha256::digest(primary)),
        primary.len()
    );
    std::fs::write(repodata.join("repomd.xml"), repomd).unwrap();
    name
}

/// `dir/deb`: a flat Debian repository whose `Release` lists `packages` as
/// `Packages.xz`.
fn debian(dir: &Path, packages: &[u8]) {
    let deb = dir.join("deb");
    std::fs::create_dir_all(&deb).unwrap();
    std::fs::write(deb.join("Packages.xz"), packages).unwrap();
    let release = format!(
        "Origin: bombs\nLabel: bombs\nArchitectures: amd64\nSHA256:\n {} {} Packages.xz\n",
        hex::encode(Sha256::digest(packages)),
        packages.len()
    );
    std::fs::write(deb.join("Release"), release).unwrap();
}

/// Plans from the repository at `entry` (`rpm-md` or `deb`, under `sub`) of
/// `dir`, served over loopback; asserts the refusal names `file` and says
/// each of `says` on one line, within the time and memory bounds.
fn refused(dir: &Path, entry: &str, sub: &str, file: &str, says: &[&str]) {
    let world: World = {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(FileServer::start(dir)).unwrap();
        let distro = if entry == "deb" {
            "ubuntu/jammy"
        } else {
            "fedora/39"
        };
        let world = support::world_of(&format!(
            "{entry}:\n  - url: {}/{sub}\n    distro: {distro}\n",
            server.url()
        ));
        let before = world.stored();
        let started = Instant::now();
        let measured =
            support::run_measured(world.dir.path(), &["plan", "--config", world.config()], &[]);
        let took = started.elapsed();
        let run = measured.run.expect(1);
        println!(
            "bomb {file} ({entry}): refused in {:.2} s at a peak RSS of {:.1} MiB",
            took.as_secs_f64(),
            measured.peak_kib as f64 / 1024.0
        );
        let line = run
            .stderr
            .lines()
            .find(|l| l.contains(file) && says.iter().all(|w| l.contains(w)));
        assert!(
            line.is_some(),
            "{file} and {says:?} on one line of:\n{}",
            run.stderr
        );
        assert!(
            measured.peak_kib < PEAK_LIMIT_KIB,
            "peak RSS {} KiB",
            measured.peak_kib
        );
        assert!(took < TIME_LIMIT, "refused only after {took:?}");
        assert_eq!(world.stored(), before, "the plan changed nothing");
        runtime.block_on(server.shutdown());
        world
    };
    drop(world);
}

fn primary_bomb_is_refused(tool: &str, suffix: &str) {
    let dir = tempfile::tempdir().unwrap();
    // Spaces: what an XML reader would take as text, so the cap is what stops it.
    let name = rpm_md(dir.path(), suffix, &bomb(tool, b' '));
    refused(dir.path(), "rpm-md", "rpm", &name, &["more than", CAP]);
}

#[test]
fn an_xz_bomb_is_refused_at_the_cap_in_bounded_memory() {
    primary_bomb_is_refused("xz", "xz");
    let dir = tempfile::tempdir().unwrap();
    // Blank lines, which the stanza reader holds none of: the cap refuses them.
    debian(dir.path(), &bomb("xz", b'\n'));
    refused(dir.path(), "deb", "deb", "Packages.xz", &["more than", CAP]);
    // Zeros, one endless line: refused at the stanza reader's line bound first.
    debian(dir.path(), &bomb("xz", 0));
    refused(
        dir.path(),
        "deb",
        "deb",
        "Packages.xz",
        &["longer than any index"],
    );
}

#[test]
fn a_zstd_bomb_is_refused_at_the_cap_in_bounded_memory() {
    primary_bomb_is_refused("zstd", "zst");
}

#[test]
fn a_gzip_bomb_is_refused_at_the_cap_in_bounded_memory() {
    primary_bomb_is_refused("gzip", "gz");
}

#[test]
fn a_bzip2_bomb_is_refused_at_the_cap_in_bounded_memory() {
    primary_bomb_is_refused("bzip2", "bz2");
}

/// A real xz file whose block header is made to declare a 4 GiB dictionary
/// (its CRC32 made right again): the decoder's memory limit refuses it before
/// anything is allocated.
fn huge_dictionary(xz: &mut [u8]) {
    const STREAM_HEADER: usize = 12;
    let header_size = (xz[STREAM_HEADER] as usize + 1) * 4;
    let header = &mut xz[STREAM_HEADER..STREAM_HEADER + header_size];
    let flags = header[1];
    assert_eq!(flags & 0x03, 0, "one filter");
    let mut at = 2;
    let varint = |header: &[u8], at: &mut usize| {
        let mut value = 0u64;
        for shift in (0..63).step_by(7) {
            let byte = header[*at];
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        value
    };
    for present in [0x40, 0x80] {
        if flags & present != 0 {
            varint(header, &mut at);
        }
    }
    assert_eq!(varint(header, &mut at), 0x21, "LZMA2");
    assert_eq!(varint(header, &mut at), 1, "one property byte");
    header[at] = 40; // 4 GiB - 1, the largest dictionary LZMA2 can declare
    let crc = {
        let mut crc = flate2::Crc::new();
        crc.update(&header[..header_size - 4]);
        crc.sum()
    };
    header[header_size - 4..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn an_xz_header_declaring_a_huge_dictionary_is_refused_unallocated() {
    let mut xz = compress("xz", &["-T1", "-6", "-c"], b"Package: hello\n\n");
    huge_dictionary(&mut xz);
    // `xz -t` agrees that the file is well formed but needs 4 GiB.
    let test = Command::new("xz")
        .args(["-t", "--memlimit=72MiB", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    test.stdin.as_ref().unwrap().write_all(&xz).unwrap();
    let test = test.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&test.stderr).contains("Memory usage limit"),
        "{}",
        String::from_utf8_lossy(&test.stderr)
    );
    for (entry, sub, file) in [
        ("rpm-md", "rpm", "primary.xml.xz"),
        ("deb", "deb", "Packages.xz"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        if entry == "deb" {
            debian(dir.path(), &xz);
        } else {
            rpm_md(dir.path(), "xz", &xz);
        }
        refused(
            dir.path(),
            entry,
            sub,
            file,
            &["xz header asks for more than 72 MiB of memory"],
        );
    }
}
