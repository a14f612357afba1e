//! The OBS emulator's builds as OBS's publisher puts them on its download
//! server: per project and repository an rpm-md tree (`<arch>/<file>.rpm`,
//! `repodata/repomd.xml` → `primary.xml.gz`) or a flat Debian tree
//! (`<arch>/<file>.deb`, `Packages`, `Packages.gz`, `Release`), under
//! `/repositories/<project with ":" as ":/">/<repository>/`. The sandbox
//! signs them afterwards (`signing`), as the publisher does with the
//! project's key.

use crate::obs::ObsState;
use anyhow::Context;
use bytes::Bytes;
use pkgfile::{PackageType, read_identity_from_bytes};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Writes every project's succeeded binaries (no debug or source packages)
/// below `root`.
pub fn write_all(state: &ObsState, root: &Path) -> anyhow::Result<()> {
    for (name, project) in &state.projects {
        let mut per_repository: BTreeMap<&str, BTreeMap<String, Bytes>> = BTreeMap::new();
        for (key, build) in &project.builds {
            if build.code != "succeeded" {
                continue;
            }
            for (filename, binary) in &build.binaries {
                let published = !filename.contains("-debuginfo")
                    && !filename.contains("-dbgsym")
                    && !filename.ends_with(".src.rpm")
                    && (filename.ends_with(".rpm") || filename.ends_with(".deb"));
                if published {
                    // A noarch file is built per arch; the publisher takes one.
                    per_repository
                        .entry(key.repository.as_str())
                        .or_default()
                        .insert(filename.clone(), binary.bytes.clone());
                }
            }
        }
        for (repository, files) in per_repository {
            let dir = root.join(project_path(name)).join(repository);
            let debs = files.keys().any(|f| f.ends_with(".deb"));
            if debs {
                write_flat_deb(&dir, &files)?;
            } else {
                write_rpm_md(&dir, &files)?;
            }
        }
    }
    Ok(())
}

/// `home:me:project` → `home:/me:/project`, as download.opensuse.org names it.
pub fn project_path(project: &str) -> String {
    project.replace(':', ":/")
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

/// An rpm-md repository of `files` in `dir`.
pub fn write_rpm_md(dir: &Path, files: &BTreeMap<String, Bytes>) -> anyhow::Result<()> {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{}\">\n",
        files.len()
    );
    for (filename, bytes) in files {
        let id = read_identity_from_bytes(bytes, Some(PackageType::Rpm))
            .with_context(|| format!("reading `{filename}`"))?;
        let location = format!("{}/{filename}", id.arch);
        std::fs::create_dir_all(dir.join(&id.arch))?;
        std::fs::write(dir.join(&location), bytes)?;
        xml.push_str(&format!(
            "<package type=\"rpm\">\n  <name>{}</name>\n  <arch>{}</arch>\n  <version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>\n  <checksum type=\"sha256\" pkgid=\"YES\">{}</checksum>\n  <size package=\"{}\" installed=\"0\" archive=\"0\"/>\n  <location href=\"{location}\"/>\n</package>\n",
            id.name,
            id.arch,
            id.epoch.unwrap_or(0),
            id.version,
            id.release.as_deref().unwrap_or_default(),
            sha256(bytes),
            bytes.len()
        ));
    }
    xml.push_str("</metadata>\n");
    let gz = gzip(xml.as_bytes())?;
    let sum = sha256(&gz);
    std::fs::create_dir_all(dir.join("repodata"))?;
    std::fs::write(dir.join(format!("repodata/{sum}-primary.xml.gz")), &gz)?;
    let repomd = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n  <revision>1700000000</revision>\n  <data type=\"primary\">\n    <checksum type=\"sha256\">{sum}</checksum>\n    <open-checksum type=\"sha256\">{}</open-checksum>\n    <location href=\"repodata/{sum}-primary.xml.gz\"/>\n    <size>{}</size>\n    <open-size>{}</open-size>\n  </data>\n</repomd>\n",
        sha256(xml.as_bytes()),
        gz.len(),
        xml.len()
    );
    std::fs::write(dir.join("repodata/repomd.xml"), repomd)?;
    Ok(())
}

/// A flat Debian repository of `files` in `dir`, `Filename: ./<arch>/...` as
/// OBS 2.9 writes it.
pub fn write_flat_deb(dir: &Path, files: &BTreeMap<String, Bytes>) -> anyhow::Result<()> {
    let mut packages = String::new();
    for (filename, bytes) in files {
        let id = read_identity_from_bytes(bytes, Some(PackageType::Deb))
            .with_context(|| format!("reading `{filename}`"))?;
        std::fs::create_dir_all(dir.join(&id.arch))?;
        std::fs::write(dir.join(&id.arch).join(filename), bytes)?;
        let mut version = match &id.release {
            Some(release) => format!("{}-{release}", id.version),
            None => id.version.clone(),
        };
        if let Some(epoch) = id.epoch {
            version = format!("{epoch}:{version}");
        }
        packages.push_str(&format!(
            "Package: {}\nVersion: {version}\nArchitecture: {}\nFilename: ./{}/{filename}\nSize: {}\nSHA256: {}\n\n",
            id.name,
            id.arch,
            id.arch,
            bytes.len(),
            sha256(bytes)
        ));
    }
    let gz = gzip(packages.as_bytes())?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("Packages"), &packages)?;
    std::fs::write(dir.join("Packages.gz"), &gz)?;
    let release = format!(
        "Origin: pkgsync sandbox\nLabel: sandbox\nDate: Tue, 14 Nov 2023 22:13:20 UTC\nSHA256:\n {} {} Packages\n {} {} Packages.gz\n",
        sha256(packages.as_bytes()),
        packages.len(),
        sha256(&gz),
        gz.len()
    );
    std::fs::write(dir.join("Release"), release)?;
    Ok(())
}
