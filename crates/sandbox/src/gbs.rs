//! GBS snapshot trees as a release server publishes them (download.tizen.org's
//! `releases/…/daily/`): per build a directory `<id>/` with
//! `builddata/build.xml` (legacy or newer form) and per repo × target
//! `repos/<repo>/<target>/{packages,debug,source}/`, each an rpm-md
//! repository of real rpms; beside them a `latest` symlink that
//! [`point_latest`] moves to another build, as the release job does.
//!
//! The metadata is written by the sandbox's own writer
//! ([`crate::published::write_rpm_md`]) or by the real `createrepo_c`
//! ([`Indexer`]), which tests install.

use crate::packages::{build_src_rpm, simple_rpm};
use crate::published::write_rpm_md;
use anyhow::{Context, ensure};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which build.xml to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildXmlForm {
    /// `<archs>`, `<repos>`, `<buildconf>NAME</buildconf>`, `<id>`.
    Legacy,
    /// `<buildtargets><buildtarget name=…>` with archs and a buildconf location.
    Targets,
}

/// Who writes each repository's `repodata/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexer {
    Sandbox,
    CreaterepoC,
}

/// One build of the sample tree: repos `tizen-base` and `tizen-main`, each
/// for targets `ia32` (i686 rpms) and `armv7l`; per repo × target one binary
/// rpm, a noarch rpm (the same in both targets, as a per-arch build of it
/// is), a debuginfo rpm in `debug/` and the source rpm in `source/`. Every
/// rpm's release is `release`, so two builds differ in every file.
#[derive(Debug, Clone)]
pub struct SampleBuild {
    pub id: String,
    pub release: String,
    pub form: BuildXmlForm,
    /// Repos to leave out of this build (a repo dropped from the release).
    pub without: Vec<String>,
}

pub const SAMPLE_REPOS: [&str; 2] = ["tizen-base", "tizen-main"];
/// `(build.xml target, rpm arch)`.
pub const SAMPLE_TARGETS: [(&str, &str); 2] = [("armv7l", "armv7l"), ("ia32", "i686")];

impl SampleBuild {
    pub fn new(id: &str, release: &str, form: BuildXmlForm) -> Self {
        Self {
            id: id.to_string(),
            release: release.to_string(),
            form,
            without: Vec::new(),
        }
    }

    fn repos(&self) -> Vec<&'static str> {
        SAMPLE_REPOS
            .into_iter()
            .filter(|r| !self.without.iter().any(|w| w == r))
            .collect()
    }

    /// Writes the build below `root/<id>/`; returns that directory.
    pub fn write(&self, root: &Path, indexer: Indexer) -> anyhow::Result<PathBuf> {
        let dir = root.join(&self.id);
        std::fs::create_dir_all(dir.join("builddata"))?;
        std::fs::write(dir.join("builddata/build.xml"), self.build_xml())?;
        let release = &self.release;
        for repo in self.repos() {
            let name = repo.trim_start_matches("tizen-");
            for (target, arch) in SAMPLE_TARGETS {
                let base = dir.join(format!("repos/{repo}/{target}"));
                let packages = BTreeMap::from([
                    rpm(&format!("{name}-tool"), release, arch)?,
                    rpm(&format!("{name}-data"), release, "noarch")?,
                ]);
                index(&base.join("packages"), &packages, indexer)?;
                let debug =
                    BTreeMap::from([rpm(&format!("{name}-tool-debuginfo"), release, arch)?]);
                index(&base.join("debug"), &debug, indexer)?;
                let source_name = format!("{name}-tool-1.0-{release}.src.rpm");
                let source = build_src_rpm(&format!("{name}-tool"), "1.0", release, &[])?;
                let source = BTreeMap::from([(source_name, Bytes::from(source))]);
                index(&base.join("source"), &source, indexer)?;
            }
        }
        Ok(dir)
    }

    pub fn build_xml(&self) -> String {
        let targets: Vec<&str> = SAMPLE_TARGETS.iter().map(|(t, _)| *t).collect();
        let list = |tag: &str, items: &[&str]| -> String {
            items
                .iter()
                .map(|i| format!("    <{tag}>{i}</{tag}>\n"))
                .collect()
        };
        let repos = self.repos();
        match self.form {
            BuildXmlForm::Legacy => format!(
                "<build>\n  <archs>\n{}  </archs>\n  <repos>\n{}  </repos>\n  <buildconf>0123abcd-build.conf</buildconf>\n  <id>{}</id>\n</build>\n",
                list("arch", &targets),
                list("repo", &repos),
                self.id
            ),
            BuildXmlForm::Targets => {
                let buildtargets: String = repos
                    .iter()
                    .map(|repo| {
                        format!(
                            "    <buildtarget name=\"{repo}\">\n      <buildconf>\n        <location href=\"0123abcd-build.conf\"/>\n        <checksum type=\"sha256\">0123abcd</checksum>\n      </buildconf>\n      <arch default=\"yes\">{}</arch>\n      <arch>{}</arch>\n    </buildtarget>\n",
                            targets[0], targets[1]
                        )
                    })
                    .collect();
                format!(
                    "<build version=\"1.0\">\n  <id>{}</id>\n  <repos>\n{}  </repos>\n  <archs>\n{}  </archs>\n  <buildtargets>\n{buildtargets}  </buildtargets>\n</build>\n",
                    self.id,
                    list("repo", &repos),
                    list("arch", &targets)
                )
            }
        }
    }
}

fn rpm(name: &str, release: &str, arch: &str) -> anyhow::Result<(String, Bytes)> {
    let bytes = simple_rpm(name, "1.0", release, arch)?;
    Ok((
        format!("{name}-1.0-{release}.{arch}.rpm"),
        Bytes::from(bytes),
    ))
}

/// An rpm-md repository of `files` in `dir`.
fn index(dir: &Path, files: &BTreeMap<String, Bytes>, indexer: Indexer) -> anyhow::Result<()> {
    match indexer {
        Indexer::Sandbox => write_rpm_md(dir, files),
        Indexer::CreaterepoC => {
            for (filename, bytes) in files {
                std::fs::create_dir_all(dir)?;
                std::fs::write(dir.join(filename), bytes)?;
            }
            let output = std::process::Command::new("createrepo_c")
                .args(["--quiet", "--checksum=sha256"])
                .arg(dir)
                .output()
                .context("running createrepo_c")?;
            ensure!(
                output.status.success(),
                "createrepo_c failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            Ok(())
        }
    }
}

/// Points `root/<link>` at `root/<id>` (relative, as release servers do),
/// replacing it in one rename so a reader sees the old or the new build.
pub fn point_latest(root: &Path, link: &str, id: &str) -> anyhow::Result<()> {
    let next = root.join(format!(".{link}.next"));
    let _ = std::fs::remove_file(&next);
    std::os::unix::fs::symlink(id, &next)?;
    std::fs::rename(&next, root.join(link))?;
    Ok(())
}
