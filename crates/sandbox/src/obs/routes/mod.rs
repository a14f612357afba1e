//! Request handling of the OBS emulator: routing by path segments (`:` and `%3A`
//! both accepted), Basic auth with the Rails challenge, query validation with the
//! backend's exact 400 texts, and the `/source`, `/build` and `_result` answers.
//! `/public/...` mirrors the same routes without authentication.
//!
//! Also: canned answers (see `CannedAnswer`) before anything else, and the 403 of
//! a disabled `binarydownload` flag on downloads and anonymous binary lists.
//!
//! Not emulated: `view=cpio`/`binaryversions` on binary lists (400 `unknown view`),
//! `locallink` (accepted, adds nothing: links are not modelled), `oldstate` long
//! polling (answers at once), `/published`.

mod auth;
mod binaries;
mod build;
mod query;
mod reply;
mod result;
mod source;

use super::{ObsProject, ObsShared, ObsState};
use crate::faults::lock;
use crate::server::decode_segments;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use query::Query;
use reply::Reply;
use std::sync::Arc;

pub(super) fn router(shared: Arc<ObsShared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(
    State(shared): State<Arc<ObsShared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let head_only = method == Method::HEAD;
    let reply = if let Some(canned) = canned_answer(&shared, &uri) {
        canned
    } else if method == Method::GET || head_only {
        let state = lock(&shared.state);
        route(&state, &uri, &headers)
    } else {
        Reply::rails_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_http_method",
            "Invalid HTTP method",
        )
    };
    reply.into_response(head_only)
}

fn canned_answer(shared: &ObsShared, uri: &Uri) -> Option<Reply> {
    let raw = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let decoded = percent_encoding::percent_decode_str(uri.path()).decode_utf8_lossy();
    let canned = lock(&shared.canned);
    let answer = canned
        .iter()
        .find(|a| raw.contains(&a.path_contains) || decoded.contains(&a.path_contains))?;
    Some(Reply {
        status: StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        headers: vec![(header::CONTENT_TYPE, answer.content_type.clone())],
        body: answer.body.clone().into(),
    })
}

fn route(state: &ObsState, uri: &Uri, headers: &HeaderMap) -> Reply {
    let Some(segments) = decode_segments(uri.path()) else {
        return Reply::rails_error(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            "Invalid path encoding",
        );
    };
    let mut path: Vec<&str> = segments.iter().map(String::as_str).collect();
    let public = path.first() == Some(&"public");
    if public {
        path.remove(0);
    } else if let Err(reply) = auth::check_auth(state, headers) {
        return reply;
    }
    let query = Query::parse(uri.query());
    match path.as_slice() {
        ["source", project, "_meta"] => source::source_meta(state, project),
        ["source", project] => source::source_list(state, project, &query),
        ["build", project] => with_project(state, project, build::build_repositories),
        ["build", project, "_result"] => result::result(state, project, &query),
        ["build", project, repo] => {
            with_project(state, project, |p| build::build_archs(p, project, repo))
        }
        ["build", project, repo, arch] => with_project(state, project, |p| {
            build::build_packages(p, project, repo, arch)
        }),
        ["build", project, repo, arch, package] => {
            if public && let Some(reply) = auth::binary_download_refused(state, project, None) {
                return reply;
            }
            binaries::binary_list(state, project, repo, arch, package, &query)
        }
        ["build", project, repo, arch, package, file] => {
            binaries::download(state, project, repo, arch, package, file, &query)
        }
        _ => Reply::rails_error(StatusCode::NOT_FOUND, "not_found", "Not found"),
    }
}

fn with_project(state: &ObsState, project: &str, f: impl FnOnce(&ObsProject) -> Reply) -> Reply {
    match state.projects.get(project) {
        Some(p) => f(p),
        None => no_project(project),
    }
}

fn no_project(project: &str) -> Reply {
    Reply::backend_error(
        StatusCode::NOT_FOUND,
        &format!("project '{project}' does not exist"),
        true,
    )
}

/// Checks project, repository and arch like the backend, in that order.
fn locate<'a>(
    state: &'a ObsState,
    project: &str,
    repo: &str,
    arch: &str,
) -> Result<&'a ObsProject, Reply> {
    let p = state
        .projects
        .get(project)
        .ok_or_else(|| no_project(project))?;
    let r = p
        .repositories
        .iter()
        .find(|r| r.name == repo)
        .ok_or_else(|| {
            Reply::backend_error(
                StatusCode::NOT_FOUND,
                &format!("project '{project}' has no repository '{repo}'"),
                true,
            )
        })?;
    if !r.archs.iter().any(|a| a == arch) {
        return Err(Reply::backend_error(
            StatusCode::NOT_FOUND,
            &format!("repository '{project}/{repo}' has no architecture '{arch}'"),
            true,
        ));
    }
    Ok(p)
}

fn package_entries(p: &ObsProject) -> Vec<(String, Option<String>)> {
    p.packages
        .iter()
        .map(|(name, pkg)| (name.clone(), pkg.origin_package.clone()))
        .collect()
}
