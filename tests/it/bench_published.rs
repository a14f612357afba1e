//! Benchmark: plan from published repositories at scale, through the real
//! binary. A 50,000-package `primary.xml.gz` and a 50,000-stanza `Packages.xz`
//! (written here, in the formats createrepo_c and dpkg-scanpackages write, for
//! real rpm and deb files), served over loopback, against two Packagecloud
//! repositories: an empty one (every package is an upload, so the plan reads,
//! parses and plans them all) and a synced one holding every file (the plan
//! also lists 100,000 stored files and compares each by sha256: no changes).
//! Prints wall time, CPU time, peak RSS and the requests per plan; asserts only
//! that the plans are right. Compare the figures of one run with each other.

use crate::support::{self, World};
use pkgsync_sandbox::Seed;
use pkgsync_sandbox::demo::{DEMO_PC_REPO, DEMO_PC_TOKEN};
use pkgsync_sandbox::files::FileServer;
use pkgsync_sandbox::packages::{simple_deb, simple_rpm};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

const PACKAGES: usize = 50_000;
/// Holds every package the repositories list.
const SYNCED_REPO: &str = "demo/synced";

/// A package file the repositories list: what its metadata says of it.
struct Listed {
    size: usize,
    sha256: String,
}

/// Real packages `pkg<i>` (rpm and deb), listed by the repositories and
/// stored in `SYNCED_REPO`.
fn packages(seed: &mut Seed) -> (Vec<Listed>, Vec<Listed>) {
    let mut listed = |bytes: Vec<u8>, distro_version: &str| {
        let entry = Listed {
            size: bytes.len(),
            sha256: hex::encode(Sha256::digest(&bytes)),
        };
        seed.packagecloud
            .package(SYNCED_REPO, distro_version, bytes);
        entry
    };
    let rpms = (0..PACKAGES)
        .map(|i| {
            listed(
                simple_rpm(&format!("pkg{i}"), "1.0", "1", "x86_64").unwrap(),
                "fedora/39",
            )
        })
        .collect();
    let debs = (0..PACKAGES)
        .map(|i| {
            listed(
                simple_deb(&format!("pkg{i}"), "1.0-1", "amd64").unwrap(),
                "ubuntu/jammy",
            )
        })
        .collect();
    (rpms, debs)
}

/// `repo/repodata/{repomd.xml, primary.xml.gz}` listing the rpms.
fn rpm_md(root: &Path, rpms: &[Listed]) {
    let repodata = root.join("rpm/repodata");
    std::fs::create_dir_all(&repodata).unwrap();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{PACKAGES}\">\n"
    );
    for (i, rpm) in rpms.iter().enumerate() {
        let sha = &rpm.sha256;
        xml.push_str(&format!(
            "<package type=\"rpm\">\n  <name>pkg{i}</name>\n  <arch>x86_64</arch>\n  <version epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n  <checksum type=\"sha256\" pkgid=\"YES\">{sha}</checksum>\n  <summary>Package {i}</summary>\n  <description>Package {i} of the benchmark.</description>\n  <packager></packager>\n  <url></url>\n  <time file=\"1700000000\" build=\"1700000000\"/>\n  <size package=\"{}\" installed=\"10\" archive=\"300\"/>\n  <location href=\"x86_64/pkg{i}-1.0-1.x86_64.rpm\"/>\n  <format>\n    <rpm:license>MIT</rpm:license>\n    <rpm:provides>\n      <rpm:entry name=\"pkg{i}\" flags=\"EQ\" epoch=\"0\" ver=\"1.0\" rel=\"1\"/>\n    </rpm:provides>\n  </format>\n</package>\n",
            rpm.size
        ));
    }
    xml.push_str("</metadata>\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(xml.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let sha = hex::encode(Sha256::digest(&gz));
    std::fs::write(repodata.join(format!("{sha}-primary.xml.gz")), &gz).unwrap();
    let repomd = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n  <revision>1700000000</revision>\n  <data type=\"primary\">\n    <checksum type=\"sha256\">{sha}</checksum>\n    <location href=\"repodata/{sha}-primary.xml.gz\"/>\n    <size>{}</size>\n    <open-size>{}</open-size>\n  </data>\n</repomd>\n",
        gz.len(),
        xml.len()
    );
    std::fs::write(repodata.join("repomd.xml"), repomd).unwrap();
}

/// `deb/{Release, Packages.xz}` listing the debs (flat).
fn debian(root: &Path, debs: &[Listed]) {
    let dir = root.join("deb");
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::new();
    for (i, deb) in debs.iter().enumerate() {
        text.push_str(&format!(
            "Package: pkg{i}\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Bench <bench@example.org>\nFilename: ./amd64/pkg{i}_1.0-1_amd64.deb\nSize: {}\nSHA256: {}\nDescription: package {i}\n benchmark package\n\n",
            deb.size, deb.sha256
        ));
    }
    let xz = real_xz(text.as_bytes());
    std::fs::write(dir.join("Packages.xz"), &xz).unwrap();
    let release = format!(
        "Origin: bench\nLabel: bench\nArchitectures: amd64\nSHA256:\n {} {} Packages.xz\n",
        hex::encode(Sha256::digest(&xz)),
        xz.len()
    );
    std::fs::write(dir.join("Release"), release).unwrap();
}

/// `input` compressed by the real `xz` (its default preset, as archives use).
fn real_xz(input: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("xz")
        .args(["-T1", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("`xz` is needed");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
#[ignore = "a benchmark: slow, prints figures, runs alone; run by ./tests/run"]
fn plan_of_fifty_thousand_published_packages() {
    let data = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let mut seed = Seed::empty();
    seed.packagecloud.token = Some(DEMO_PC_TOKEN.into());
    seed.packagecloud.repo(DEMO_PC_REPO);
    let (rpms, debs) = packages(&mut seed);
    rpm_md(data.path(), &rpms);
    debian(data.path(), &debs);
    let world = World::with_seed(seed);
    println!(
        "bench published: {PACKAGES} rpms and {PACKAGES} debs made, listed and stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let server = world
        .runtime
        .block_on(FileServer::start(data.path()))
        .unwrap();
    // The same rpm-md repository also read from disk (a compose's path).
    let on_disk = data.path().to_str().unwrap();
    let runs = [
        ("rpm-md", "rpm-md", server.url(), "fedora/39"),
        ("rpm-md on disk", "rpm-md", on_disk, "fedora/39"),
        ("deb", "deb", server.url(), "ubuntu/jammy"),
    ];
    let targets = [(DEMO_PC_REPO, "empty"), (SYNCED_REPO, "synced")];
    for ((kind, entry, base, distro), (repo, target)) in targets
        .iter()
        .flat_map(|t| runs.iter().map(move |r| (*r, *t)))
    {
        let sub = if entry == "rpm-md" { "rpm" } else { "deb" };
        let config = format!(
            "{entry}:\n  - url: {base}/{sub}\n    distro: {distro}\n\
packagecloud:\n  url: {pc}\n  repo: {repo}\n  auth:\n    token: {DEMO_PC_TOKEN}\n",
            pc = world.sandbox().packagecloud_url()
        );
        std::fs::write(&world.config, config).unwrap();
        let before = server.requests().len();
        let pc_before = world.sandbox().packagecloud().requests().len();
        let out = world.path("plan.json");
        let started = std::time::Instant::now();
        let measured = support::run_measured(
            world.dir.path(),
            &[
                "plan",
                "--config",
                world.config(),
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        let wall = started.elapsed().as_secs_f64();
        measured.run.expect(0);
        let plan = pkgsync::plan::file::read(&out).unwrap();
        let (uploads, unchanged) = match target {
            "empty" => (PACKAGES, 0),
            _ => (0, PACKAGES),
        };
        assert_eq!(plan.summary.upload, uploads, "{kind}, {target}");
        assert_eq!(plan.summary.unchanged, unchanged, "{kind}, {target}");
        println!(
            "bench published: plan {kind:<14} {PACKAGES} packages, target {target:<6}: wall {:.2} s, cpu {:.2} s, peak RSS {:.1} MiB; requests: repository {}, Packagecloud {}",
            wall,
            measured.cpu_secs,
            measured.peak_kib as f64 / 1024.0,
            server.requests().len() - before,
            world.sandbox().packagecloud().requests().len() - pc_before,
        );
    }
    world.runtime.block_on(server.shutdown());
}

/// Stanzas in Debian bookworm's `main/binary-amd64/Packages`.
const BOOKWORM_MAIN: usize = 63_440;

/// One stanza shaped like bookworm main's: its field set, and lengths near
/// the archive's averages (a long `Depends`, a `Description` with continuation
/// lines, `Tag`), for a real deb of `name`.
fn bookworm_stanza(i: usize, name: &str, version: &str, deb: &[u8]) -> String {
    let source = format!("xyz{}", i / 4);
    let letter = &source[..1];
    let depends = format!(
        "libc6 (>= 2.34), libgcc-s1 (>= 3.0), libstdc++6 (>= 12), libxyz{} (= {version}), zlib1g (>= 1:1.2.0)",
        i / 4
    );
    format!(
        "Package: {name}\nVersion: {version}\nInstalled-Size: {}\nMaintainer: Debian Bench Maintainers <pkg-bench-{source}@lists.alioth.debian.org>\n\
Architecture: amd64\nDepends: {depends}\nDescription: benchmark package {i} of the bookworm-shaped archive\n \
This package stands in for one of bookworm main's binaries; its fields\n have the lengths Debian's have, so that parsing costs what it costs\n \
for the real archive.\n .\n This is the last paragraph of its description.\nHomepage: https://{source}.example.org/\n\
Tag: devel::library, implemented-in::c, role::devel-lib, role::shared-lib, suite::debian\nSection: libs\nPriority: optional\n\
Filename: pool/main/{letter}/{source}/{name}_{version}_amd64.deb\nSize: {}\nMD5sum: {}\nSHA256: {}\n\n",
        100 + i % 5000,
        deb.len(),
        hex::encode(md5::Md5::digest(deb)),
        hex::encode(Sha256::digest(deb)),
    )
}

/// What one timed command took, in seconds.
fn timed(program: &str, args: &[&str]) -> f64 {
    let started = std::time::Instant::now();
    let status = std::process::Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{program} {args:?}");
    started.elapsed().as_secs_f64()
}

#[test]
#[ignore = "a benchmark: slow, prints figures, runs alone; run by ./tests/run"]
fn plan_of_a_bookworm_main_sized_packages_xz() {
    const SYNCED: &str = "demo/bookworm";
    let data = tempfile::tempdir().unwrap();
    let mut seed = Seed::empty();
    seed.packagecloud.token = Some(DEMO_PC_TOKEN.into());
    seed.packagecloud.repo(DEMO_PC_REPO);
    let mut text = String::new();
    for i in 0..BOOKWORM_MAIN {
        let name = format!("libxyz{i}");
        let version = format!("1.{}.{}-{}", i % 17, i % 31, 1 + i % 3);
        let deb = simple_deb(&name, &version, "amd64").unwrap();
        text.push_str(&bookworm_stanza(i, &name, &version, &deb));
        seed.packagecloud.package(SYNCED, "debian/bookworm", deb);
    }
    let dir = data.path().join("debian");
    std::fs::create_dir_all(&dir).unwrap();
    let xz = real_xz(text.as_bytes());
    let xz_path = dir.join("Packages.xz");
    std::fs::write(&xz_path, &xz).unwrap();
    std::fs::write(
        dir.join("Release"),
        format!(
            "Origin: bench\nLabel: bench\nArchitectures: amd64\nSHA256:\n {} {} Packages.xz\n",
            hex::encode(Sha256::digest(&xz)),
            xz.len()
        ),
    )
    .unwrap();
    let world = World::with_seed(seed);
    let server = world
        .runtime
        .block_on(FileServer::start(data.path()))
        .unwrap();
    let xz_file = xz_path.to_str().unwrap();
    let floor = timed("xz", &["-d", "-c", "-T1", xz_file]);
    let url = format!("{}/debian/Packages.xz", server.url());
    let download = timed("curl", &["-sf", "-o", "/dev/null", &url]);
    println!(
        "bench bookworm: Packages {:.1} MiB, Packages.xz {:.1} MiB; xz -d {floor:.2} s (the floor), download alone {download:.3} s",
        text.len() as f64 / 1048576.0,
        xz.len() as f64 / 1048576.0,
    );
    for (repo, target, uploads) in [
        (DEMO_PC_REPO, "empty", BOOKWORM_MAIN),
        (SYNCED, "synced", 0),
    ] {
        let config = format!(
            "deb:\n  - url: {}/debian\n    distro: debian/bookworm\n\
packagecloud:\n  url: {pc}\n  repo: {repo}\n  auth:\n    token: {DEMO_PC_TOKEN}\n",
            server.url(),
            pc = world.sandbox().packagecloud_url()
        );
        std::fs::write(&world.config, config).unwrap();
        let out = world.path("plan.json");
        let args = [
            "plan",
            "--config",
            world.config(),
            "--out",
            out.to_str().unwrap(),
        ];
        let started = std::time::Instant::now();
        let measured = support::run_measured(world.dir.path(), &args, &[]);
        let wall = started.elapsed().as_secs_f64();
        measured.run.expect(0);
        let plan = pkgsync::plan::file::read(&out).unwrap();
        assert_eq!(plan.summary.upload, uploads, "{target}");
        assert_eq!(plan.summary.unchanged, BOOKWORM_MAIN - uploads, "{target}");
        println!(
            "bench bookworm: plan {BOOKWORM_MAIN} packages, target {target:<6}: wall {wall:.2} s, cpu {:.2} s, peak RSS {:.1} MiB (xz -d: {floor:.2} s)",
            measured.cpu_secs,
            measured.peak_kib as f64 / 1024.0,
        );
    }
    world.runtime.block_on(server.shutdown());
}
