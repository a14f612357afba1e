//! Request handling of the Packagecloud emulator: token auth, distributions,
//! paginated listing with `Link`/`Total` headers, multipart upload with server-side
//! renaming, package details, delete, and plain downloads of stored files.
//! Path segments are percent-decoded; the `.json` suffix is optional.

mod listing;
mod package;
mod promote;
mod upload;

use super::PcShared;
use super::state::{PcState, StoredPackage};
use crate::faults::lock;
use crate::server::{basic_credentials, decode_segments};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

pub(super) fn router(shared: Arc<PcShared>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

fn json_reply(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let text = serde_json::to_string(body).expect("emulator documents serialise");
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        text,
    )
        .into_response()
}

fn not_found() -> Response {
    json_reply(StatusCode::NOT_FOUND, &json!({"error": "not_found"}))
}

fn unprocessable(field: &str, message: &str) -> Response {
    json_reply(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({ field: [message] }),
    )
}

async fn handle(State(shared): State<Arc<PcShared>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let Some(segments) = decode_segments(uri.path()) else {
        return not_found();
    };
    let path: Vec<&str> = segments.iter().map(String::as_str).collect();

    // Download links are what a package manager fetches: no API token involved.
    if let [user, repo, "packages", distro, version, filename, download] = path.as_slice()
        && method == Method::GET
        && download.starts_with("download")
    {
        let repo = format!("{user}/{repo}");
        // A private repository's downloads need the token, as the API does.
        let private = lock(&shared.state).private.contains(&repo);
        if private && let Some(response) = token_rejection(&shared, request.headers()) {
            return response;
        }
        return package::download_file(&shared, &repo, &format!("{distro}/{version}"), filename);
    }
    if let Some(response) = token_rejection(&shared, request.headers()) {
        return response;
    }
    let Some(api) = path.strip_prefix(&["api", "v1"]) else {
        return not_found();
    };
    match (method.clone(), api) {
        (Method::GET, [distributions]) if strip_json(distributions) == "distributions" => {
            json_reply(StatusCode::OK, shared.distributions.body())
        }
        (Method::GET, ["repos", user, repo]) => {
            listing::repo_info(&shared, &format!("{user}/{}", strip_json(repo)))
        }
        (Method::GET, ["repos", user, repo, packages]) if strip_json(packages) == "packages" => {
            listing::list(
                &shared,
                &format!("{user}/{repo}"),
                uri.path(),
                uri.query(),
                false,
            )
        }
        (Method::GET, ["repos", user, repo, search]) if strip_json(search) == "search" => {
            listing::list(
                &shared,
                &format!("{user}/{repo}"),
                uri.path(),
                uri.query(),
                true,
            )
        }
        (Method::POST, ["repos", user, repo, packages]) if strip_json(packages) == "packages" => {
            let repo = format!("{user}/{repo}");
            upload::upload(&shared, &repo, request).await
        }
        (Method::GET, ["repos", user, repo, "package", rest @ ..]) => {
            package::details(&shared, &format!("{user}/{repo}"), rest)
        }
        (Method::POST, ["repos", user, repo, distro, version, filename, call])
            if strip_json(call) == "promote" =>
        {
            let repo = format!("{user}/{repo}");
            let distro_version = format!("{distro}/{version}");
            let filename = filename.to_string();
            let destination = match promote::destination_of(request).await {
                Ok(destination) => destination,
                Err(response) => return response,
            };
            promote::promote(&shared, &repo, &distro_version, &filename, &destination)
        }
        (Method::DELETE, ["repos", user, repo, distro, version, filename]) => package::delete(
            &shared,
            &format!("{user}/{repo}"),
            &format!("{distro}/{version}"),
            filename,
        ),
        _ => not_found(),
    }
}

fn strip_json(segment: &str) -> &str {
    segment.strip_suffix(".json").unwrap_or(segment)
}

/// Basic auth with the token as user name and an empty password: the 401 to send
/// when the request lacks it.
fn token_rejection(shared: &PcShared, headers: &HeaderMap) -> Option<Response> {
    let state = lock(&shared.state);
    let token = state.token.as_ref()?;
    match basic_credentials(headers) {
        Some((user, _)) if user == *token => None,
        _ => Some(json_reply(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "Unauthenticated"}),
        )),
    }
}

/// The base of the `download_url`s the views give.
fn download_base<'a>(state: &'a PcState, shared: &'a PcShared) -> &'a str {
    state.download_base.as_deref().unwrap_or(&shared.base_url)
}

fn is_indexed(state: &PcState, p: &StoredPackage) -> bool {
    p.uploaded_at
        .is_none_or(|at| at.elapsed() >= state.index_delay)
}
