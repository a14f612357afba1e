//! The demo seed: a Kata-Containers-like OBS project and a Packagecloud repository
//! that is partly in sync with it, so `plan` has uploads, a delete, files to skip
//! and a distro to leave alone.
//!
//! OBS `home:katacontainers:releases:stable-3.2`, repositories `Fedora_39` and
//! `xUbuntu_22.04` (meta order), arches `x86_64`, `aarch64`:
//! - `kata-runtime`: arch rpm, its `-debuginfo` rpm, the `.src.rpm`; debs.
//! - `kata-containers-image`: a noarch rpm / `_all` deb built under each arch with
//!   different bytes (same name), as real OBS does.
//! - `qemu-kata`: arch rpm / deb.
//! - `kata-linux-container` and its flavour `kata-linux-container:guest`: a distinct
//!   binary each, and the same `.src.rpm` (same name, same bytes) under both.
//! - `broken`: excluded in `Fedora_39`, failed in `xUbuntu_22.04`; no binaries
//!   (so pkgsync withholds deletes in `ubuntu/jammy`).
//! - Every succeeded package has `_buildenv` and `_statistics`; rpm builds also
//!   `rpmlint.log` (deb builds have none, as on real OBS).
//!
//! Packagecloud `demo/kata` holds: the x86_64 `kata-runtime` rpm in `fedora/39` and
//! the amd64 `kata-runtime` deb in `ubuntu/jammy` (byte-identical to OBS), the
//! orphan `kata-proxy-1.11.0-1.1.x86_64.rpm` in `fedora/39`, and
//! `kata-shim-1.11.0-1.1.x86_64.rpm` in the unmapped `el/7`.

use super::Seed;
use super::obs::ObsProject;
use super::packages::{build_deb, build_rpm, build_src_rpm};

pub const DEMO_OBS_PROJECT: &str = "home:katacontainers:releases:stable-3.2";
pub const DEMO_OBS_USER: &str = "demo";
pub const DEMO_OBS_PASSWORD: &str = "demo-password";
pub const DEMO_PC_REPO: &str = "demo/kata";
/// The production repository the demo promotes `DEMO_PC_REPO` to (empty at first).
pub const DEMO_PC_PRODUCTION_REPO: &str = "demo/kata-production";
/// A made-up 48-hex-digit token (the length the `package_cloud` CLI expects).
pub const DEMO_PC_TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

pub const DEMO_RPM_REPOSITORY: &str = "Fedora_39";
pub const DEMO_DEB_REPOSITORY: &str = "xUbuntu_22.04";
pub const DEMO_ARCHS: [&str; 2] = ["x86_64", "aarch64"];

const KATA_VERSION: &str = "3.2.0";
const QEMU_VERSION: &str = "8.0.2";
const KERNEL_VERSION: &str = "6.1.52";
const RELEASE: &str = "1.1";
/// Build-area mtimes of the demo (aarch64 finishes a little later).
const MTIME: u64 = 1_700_000_000;

/// Debian name of an OBS arch (the two the demo uses).
fn deb_arch(obs_arch: &str) -> &str {
    match obs_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn rpm(name: &str, version: &str, arch: &str, note: &str) -> anyhow::Result<Vec<u8>> {
    let path = format!("/usr/share/{name}/README");
    let body = format!("{name} {version}-{RELEASE} ({note})\n");
    build_rpm(name, version, RELEASE, arch, &[(&path, body.as_bytes())])
}

fn deb(name: &str, version: &str, arch: &str, note: &str) -> anyhow::Result<Vec<u8>> {
    let path = format!("/usr/share/{name}/README");
    let body = format!("{name} {version}-{RELEASE} ({note})\n");
    build_deb(
        name,
        &format!("{version}-{RELEASE}"),
        arch,
        &[(&path, body.as_bytes())],
    )
}

fn src_rpm(name: &str, version: &str) -> anyhow::Result<Vec<u8>> {
    let spec = format!("Name: {name}\nVersion: {version}\nRelease: {RELEASE}\n");
    build_src_rpm(
        name,
        version,
        RELEASE,
        &[(&format!("/{name}.spec"), spec.as_bytes())],
    )
}

/// The demo's two OBS repositories, one per package format: both build the
/// same packages, each in its own names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Rpm,
    Deb,
}

impl Format {
    fn repository(self) -> &'static str {
        match self {
            Format::Rpm => DEMO_RPM_REPOSITORY,
            Format::Deb => DEMO_DEB_REPOSITORY,
        }
    }

    /// The format's name of the OBS arch `obs_arch`.
    fn arch(self, obs_arch: &str) -> &str {
        match self {
            Format::Rpm => obs_arch,
            Format::Deb => deb_arch(obs_arch),
        }
    }

    /// The format's name of "any arch".
    fn noarch(self) -> &'static str {
        match self {
            Format::Rpm => "noarch",
            Format::Deb => "all",
        }
    }

    fn filename(self, name: &str, version: &str, arch: &str) -> String {
        match self {
            Format::Rpm => format!("{name}-{version}-{RELEASE}.{arch}.rpm"),
            Format::Deb => format!("{name}_{version}-{RELEASE}_{arch}.deb"),
        }
    }

    /// A package whose one file says `note`; `arch` in the format's names.
    fn package(self, name: &str, version: &str, arch: &str, note: &str) -> anyhow::Result<Vec<u8>> {
        match self {
            Format::Rpm => rpm(name, version, arch, note),
            Format::Deb => deb(name, version, arch, note),
        }
    }

    /// The `kata-runtime` package of OBS arch `obs_arch`.
    fn kata_runtime(self, obs_arch: &str) -> anyhow::Result<Vec<u8>> {
        self.package(
            "kata-runtime",
            KATA_VERSION,
            self.arch(obs_arch),
            "kata runtime",
        )
    }
}

/// The x86_64 `kata-runtime` rpm exactly as the demo OBS serves it.
pub fn demo_kata_runtime_rpm(obs_arch: &str) -> anyhow::Result<Vec<u8>> {
    Format::Rpm.kata_runtime(obs_arch)
}

/// The `kata-runtime` deb exactly as the demo OBS serves it.
pub fn demo_kata_runtime_deb(obs_arch: &str) -> anyhow::Result<Vec<u8>> {
    Format::Deb.kata_runtime(obs_arch)
}

/// The demo's builds in `format`'s repository for one arch.
fn fill_repository(
    p: &mut ObsProject,
    format: Format,
    arch: &str,
    mtime: u64,
) -> anyhow::Result<()> {
    let repo = format.repository();
    let image_note = format!("built on {arch}");
    // (OBS package, package name, version, note). The image is arch-independent:
    // the same name under every arch, different bytes, as it is built once per arch.
    let builds = [
        ("kata-runtime", "kata-runtime", KATA_VERSION, "kata runtime"),
        (
            "kata-containers-image",
            "kata-containers-image",
            KATA_VERSION,
            &image_note,
        ),
        ("qemu-kata", "qemu-kata", QEMU_VERSION, "qemu"),
        (
            "kata-linux-container",
            "kata-linux-container",
            KERNEL_VERSION,
            "host kernel",
        ),
        (
            "kata-linux-container:guest",
            "kata-linux-container-guest",
            KERNEL_VERSION,
            "guest kernel",
        ),
    ];
    let mut add = |package: &str, name: &str, version: &str, file_arch: &str, bytes: Vec<u8>| {
        let filename = format.filename(name, version, file_arch);
        p.set_binary(repo, arch, package, &filename, bytes, mtime);
    };
    for (package, name, version, note) in builds {
        let file_arch = match package {
            "kata-containers-image" => format.noarch(),
            _ => format.arch(arch),
        };
        let bytes = format.package(name, version, file_arch, note)?;
        add(package, name, version, file_arch, bytes);
    }
    if format == Format::Rpm {
        let debuginfo = rpm(
            "kata-runtime-debuginfo",
            KATA_VERSION,
            arch,
            "debug symbols",
        )?;
        add(
            "kata-runtime",
            "kata-runtime-debuginfo",
            KATA_VERSION,
            arch,
            debuginfo,
        );
        let runtime_src = src_rpm("kata-runtime", KATA_VERSION)?;
        add(
            "kata-runtime",
            "kata-runtime",
            KATA_VERSION,
            "src",
            runtime_src,
        );
        // One source rpm, the same bytes, under the package and its flavour.
        let kernel_src = src_rpm("kata-linux-container", KERNEL_VERSION)?;
        for package in ["kata-linux-container", "kata-linux-container:guest"] {
            let src = kernel_src.clone();
            add(package, "kata-linux-container", KERNEL_VERSION, "src", src);
        }
    }
    for (package, ..) in builds {
        p.add_build_metadata(repo, arch, package, mtime, format == Format::Rpm);
    }
    // Excluded in the rpm repository (so its orphan may go), failed in the deb
    // one (so deletes there are withheld, which the demo shows when it matters).
    let broken = match format {
        Format::Rpm => "excluded",
        Format::Deb => "failed",
    };
    p.set_code(repo, arch, "broken", broken);
    Ok(())
}

impl Seed {
    /// The demo seed (see the module docs). Panics only if package generation
    /// fails, which it does not for these constant inputs.
    pub fn demo() -> Seed {
        Self::try_demo().expect("the demo packages are generated from constants")
    }

    /// The demo seed, with generation errors returned.
    pub fn try_demo() -> anyhow::Result<Seed> {
        let mut seed = Seed::empty();
        seed.obs.credentials = Some((DEMO_OBS_USER.to_string(), DEMO_OBS_PASSWORD.to_string()));
        let project = seed.obs.project(DEMO_OBS_PROJECT);
        *project = ObsProject::new("Kata Containers stable 3.2 (demo)");
        project
            .repository(DEMO_RPM_REPOSITORY, &DEMO_ARCHS)
            .repository(DEMO_DEB_REPOSITORY, &DEMO_ARCHS);
        for package in [
            "broken",
            "kata-containers-image",
            "kata-linux-container",
            "kata-linux-container:guest",
            "kata-runtime",
            "qemu-kata",
        ] {
            project.package(package);
        }
        for (i, arch) in DEMO_ARCHS.iter().enumerate() {
            let mtime = MTIME + i as u64 * 60;
            fill_repository(project, Format::Rpm, arch, mtime)?;
            fill_repository(project, Format::Deb, arch, mtime)?;
        }

        let pc = &mut seed.packagecloud;
        pc.token = Some(DEMO_PC_TOKEN.to_string());
        pc.repo(DEMO_PC_PRODUCTION_REPO);
        pc.repo(DEMO_PC_REPO)
            .package(DEMO_PC_REPO, "fedora/39", demo_kata_runtime_rpm("x86_64")?)
            .package(
                DEMO_PC_REPO,
                "ubuntu/jammy",
                demo_kata_runtime_deb("x86_64")?,
            )
            .package(
                DEMO_PC_REPO,
                "fedora/39",
                rpm("kata-proxy", "1.11.0", "x86_64", "retired")?,
            )
            .package(
                DEMO_PC_REPO,
                "el/7",
                rpm("kata-shim", "1.11.0", "x86_64", "legacy")?,
            );
        Ok(seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obs::BuildKey;

    #[test]
    fn demo_seed_has_the_documented_shape() {
        let seed = Seed::try_demo().unwrap();
        let p = &seed.obs.projects[DEMO_OBS_PROJECT];
        let names: Vec<&str> = p.packages.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "broken",
                "kata-containers-image",
                "kata-linux-container",
                "kata-linux-container:guest",
                "kata-runtime",
                "qemu-kata"
            ]
        );
        let runtime = &p.builds[&BuildKey::new("Fedora_39", "x86_64", "kata-runtime")];
        let files: Vec<&str> = runtime.binaries.keys().map(String::as_str).collect();
        assert_eq!(
            files,
            [
                "_buildenv",
                "_statistics",
                "kata-runtime-3.2.0-1.1.src.rpm",
                "kata-runtime-3.2.0-1.1.x86_64.rpm",
                "kata-runtime-debuginfo-3.2.0-1.1.x86_64.rpm",
                "rpmlint.log"
            ]
        );
        // Every generated package carries the name it is listed under.
        for build in p.builds.values() {
            for (name, binary) in &build.binaries {
                if name.ends_with(".rpm") || name.ends_with(".deb") {
                    let id = pkgfile::read_identity_from_bytes(&binary.bytes, None).unwrap();
                    assert_eq!(&id.canonical_filename(), name);
                }
            }
        }
        let image = |arch: &str| {
            p.builds[&BuildKey::new("Fedora_39", arch, "kata-containers-image")].binaries
                ["kata-containers-image-3.2.0-1.1.noarch.rpm"]
                .bytes
                .clone()
        };
        assert_ne!(image("x86_64"), image("aarch64"));
        let src = |package: &str| {
            p.builds[&BuildKey::new("Fedora_39", "x86_64", package)].binaries["kata-linux-container-6.1.52-1.1.src.rpm"]
                .bytes
                .clone()
        };
        assert_eq!(
            src("kata-linux-container"),
            src("kata-linux-container:guest")
        );
        assert!(
            p.builds[&BuildKey::new("Fedora_39", "x86_64", "broken")]
                .binaries
                .is_empty()
        );
        assert_eq!(DEMO_PC_TOKEN.len(), 48);
    }
}
