//! One stored package: its details, its delete, and the plain download a
//! package manager fetches.

use super::{download_base, is_indexed, json_reply, not_found, strip_json};
use crate::faults::lock;
use crate::packagecloud::PcShared;
use crate::packagecloud::state::StoredPackage;
use crate::packagecloud::views::{self, Context};
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use pkgfile::PackageType;
use serde_json::json;

/// `package/:type/:distro/:version/:name/:arch/:version/:release[.json]`, or for
/// debs `.../:arch/:version-:release[.json]`.
pub(super) fn details(shared: &PcShared, repo: &str, rest: &[&str]) -> Response {
    let (kind, distro, dist_version, name, arch, wanted) = match rest {
        [kind, distro, dv, name, arch, version, release] => (
            *kind,
            *distro,
            *dv,
            *name,
            *arch,
            format!("{version}-{}", strip_json(release)),
        ),
        [kind, distro, dv, name, arch, version_release] => (
            *kind,
            *distro,
            *dv,
            *name,
            *arch,
            strip_json(version_release).to_string(),
        ),
        _ => return not_found(),
    };
    let distro_version = format!("{distro}/{dist_version}");
    let state = lock(&shared.state);
    let found = state.repos.get(repo).and_then(|packages| {
        packages.iter().find(|p| {
            let id = &p.identity;
            p.distro_version == distro_version
                && id.package_type.as_str() == kind
                && id.name == name
                && id.arch == arch
                && version_release(p) == wanted
        })
    });
    match found {
        Some(p) => {
            let ctx = Context {
                base_url: download_base(&state, shared),
                repo,
                indexed: is_indexed(&state, p),
                private: state.private.contains(repo),
            };
            json_reply(StatusCode::OK, &views::details(p, &ctx))
        }
        None => not_found(),
    }
}

fn version_release(p: &StoredPackage) -> String {
    match p.identity.package_type {
        PackageType::Rpm => format!(
            "{}-{}",
            p.identity.version,
            p.identity.release.as_deref().unwrap_or_default()
        ),
        PackageType::Deb => p.identity.deb_version(),
    }
}

pub(super) fn delete(
    shared: &PcShared,
    repo: &str,
    distro_version: &str,
    filename: &str,
) -> Response {
    let mut state = lock(&shared.state);
    let Some(packages) = state.repos.get_mut(repo) else {
        return not_found();
    };
    let before = packages.len();
    packages.retain(|p| !(p.distro_version == distro_version && p.filename == filename));
    if packages.len() == before {
        return json_reply(StatusCode::NOT_FOUND, &json!({"filename": ["not found"]}));
    }
    json_reply(StatusCode::OK, &json!({}))
}

pub(super) fn download_file(
    shared: &PcShared,
    repo: &str,
    distro_version: &str,
    filename: &str,
) -> Response {
    let mut state = lock(&shared.state);
    let found = state.repos.get_mut(repo).and_then(|packages| {
        packages
            .iter_mut()
            .find(|p| p.distro_version == distro_version && p.filename == filename)
    });
    match found {
        Some(p) => {
            p.downloads += 1;
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/octet-stream")],
                Body::from(p.bytes.clone()),
            )
                .into_response()
        }
        None => not_found(),
    }
}
