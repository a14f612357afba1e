//! A build area's binaries: the list of one package's build
//! (`withmd5`, `nosource`, `binary=` filters), a file's download and its
//! `view=fileinfo`.

use super::auth::binary_download_refused;
use super::{Query, Reply, locate};
use crate::obs::xml::{self, BinaryEntry};
use crate::obs::{BuildKey, ObsBuild, ObsProject, ObsState};
use axum::http::{StatusCode, header};
use md5::{Digest, Md5};
use pkgfile::PackageType;

pub(super) fn build_of<'a>(
    p: &'a ObsProject,
    repo: &str,
    arch: &str,
    package: &str,
) -> Option<&'a ObsBuild> {
    p.builds.get(&BuildKey::new(repo, arch, package))
}

/// The `<binary>` entries a package's list shows.
pub(super) fn binary_entries(build: Option<&ObsBuild>, with_md5: bool) -> Vec<BinaryEntry> {
    build
        .and_then(ObsBuild::visible_binaries)
        .map(|binaries| {
            binaries
                .iter()
                .map(|(name, b)| BinaryEntry {
                    filename: name.clone(),
                    md5: with_md5.then(|| hex::encode(Md5::digest(&b.bytes))),
                    size: b.bytes.len() as u64,
                    mtime: b.mtime,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What `nosource=1` drops: sources and debug packages; deb builds keep only debs.
fn is_source_or_debug(filename: &str, deb_build: bool) -> bool {
    if deb_build {
        return !filename.ends_with(".deb");
    }
    filename.ends_with(".src.rpm")
        || filename.ends_with(".nosrc.rpm")
        || (filename.ends_with(".rpm")
            && (filename.contains("-debuginfo-") || filename.contains("-debugsource-")))
}

pub(super) fn binary_list(
    state: &ObsState,
    project: &str,
    repo: &str,
    arch: &str,
    package: &str,
    query: &Query,
) -> Reply {
    if let Err(reply) = query.check(
        &["withmd5", "nosource", "binary", "view", "nometa"],
        &["withmd5", "nosource", "nometa"],
    ) {
        return reply;
    }
    if let Some(view) = query.first("view") {
        return Reply::backend_error(
            StatusCode::BAD_REQUEST,
            &format!("unknown view '{view}'"),
            false,
        );
    }
    let p = match locate(state, project, repo, arch) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    // Backend quirk: an unknown package is an empty list, not a 404.
    let mut entries = binary_entries(build_of(p, repo, arch, package), query.flag("withmd5"));
    if query.flag("nosource") {
        let deb_build = entries.iter().any(|e| e.filename.ends_with(".deb"));
        entries.retain(|e| !is_source_or_debug(&e.filename, deb_build));
    }
    let only = query.all("binary");
    if !only.is_empty() {
        entries.retain(|e| only.contains(&e.filename.as_str()));
    }
    Reply::backend(
        StatusCode::OK,
        xml::document(|w| xml::write_binarylist(w, None, &entries)),
    )
}

pub(super) fn download(
    state: &ObsState,
    project: &str,
    repo: &str,
    arch: &str,
    package: &str,
    file: &str,
    query: &Query,
) -> Reply {
    let p = match locate(state, project, repo, arch) {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    if let Some(reply) = binary_download_refused(state, project, Some(package)) {
        return reply;
    }
    let binary = build_of(p, repo, arch, package)
        .and_then(ObsBuild::visible_binaries)
        .and_then(|b| b.get(file));
    let Some(binary) = binary else {
        return Reply::backend_error(
            StatusCode::NOT_FOUND,
            &format!("{file}: No such file or directory"),
            true,
        );
    };
    if query.first("view") == Some("fileinfo") {
        return Reply::backend(StatusCode::OK, fileinfo(file, &binary.bytes, binary.mtime));
    }
    let content_type = match PackageType::from_filename(file) {
        Some(PackageType::Rpm) => "application/x-rpm",
        Some(PackageType::Deb) => "application/x-debian-package",
        None => "application/octet-stream",
    };
    Reply {
        status: StatusCode::OK,
        headers: vec![
            (header::CONTENT_TYPE, content_type.into()),
            (header::CACHE_CONTROL, "no-cache".into()),
            (header::CONNECTION, "close".into()),
        ],
        body: binary.bytes.clone(),
    }
}

/// `?view=fileinfo`: package identity when the file is a readable package.
fn fileinfo(file: &str, bytes: &[u8], mtime: u64) -> String {
    let identity = PackageType::from_filename(file)
        .and_then(|t| pkgfile::read_identity_from_bytes(bytes, Some(t)).ok());
    xml::document(|w| {
        xml::element(w, "fileinfo", &[("filename", file)], |w| {
            if let Some(id) = &identity {
                xml::text(w, "name", &id.name)?;
                if let Some(epoch) = id.epoch {
                    xml::text(w, "epoch", &epoch.to_string())?;
                }
                xml::text(w, "version", &id.version)?;
                if let Some(release) = &id.release {
                    xml::text(w, "release", release)?;
                }
                xml::text(w, "arch", &id.arch)?;
            }
            xml::text(w, "size", &bytes.len().to_string())?;
            xml::text(w, "mtime", &mtime.to_string())
        })
    })
}
