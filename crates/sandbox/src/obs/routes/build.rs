//! `/build/<project>[/<repository>[/<arch>]]`: the backend's directories of a
//! project's repositories, a repository's arches and an arch's packages.

use super::{Reply, package_entries};
use crate::obs::{ObsProject, xml};
use axum::http::StatusCode;

pub(super) fn build_repositories(p: &ObsProject) -> Reply {
    let entries: Vec<_> = p
        .repositories
        .iter()
        .map(|r| (r.name.clone(), None))
        .collect();
    Reply::backend(StatusCode::OK, xml::directory(&entries, None))
}

pub(super) fn build_archs(p: &ObsProject, project: &str, repo: &str) -> Reply {
    match p.repositories.iter().find(|r| r.name == repo) {
        Some(r) => {
            let entries: Vec<_> = r.archs.iter().map(|a| (a.clone(), None)).collect();
            Reply::backend(StatusCode::OK, xml::directory(&entries, None))
        }
        None => Reply::backend_error(
            StatusCode::NOT_FOUND,
            &format!("project '{project}' has no repository '{repo}'"),
            true,
        ),
    }
}

pub(super) fn build_packages(p: &ObsProject, project: &str, repo: &str, arch: &str) -> Reply {
    let known = p
        .repositories
        .iter()
        .find(|r| r.name == repo)
        .map(|r| r.archs.iter().any(|a| a == arch));
    match known {
        None => Reply::backend_error(
            StatusCode::NOT_FOUND,
            &format!("project '{project}' has no repository '{repo}'"),
            true,
        ),
        Some(false) => Reply::backend_error(
            StatusCode::NOT_FOUND,
            &format!("repository '{project}/{repo}' has no architecture '{arch}'"),
            true,
        ),
        Some(true) => Reply::backend(StatusCode::OK, xml::directory(&package_entries(p), None)),
    }
}
