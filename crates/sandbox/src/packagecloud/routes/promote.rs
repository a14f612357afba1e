//! The promote call: a package moved to another repository.

use super::{download_base, json_reply, not_found, unprocessable};
use crate::faults::lock;
use crate::packagecloud::PcShared;
use crate::packagecloud::views::{self, Context};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;

/// The promote call's `destination=user/repo`, as a form (or JSON) field.
pub(super) async fn destination_of(request: Request) -> Result<String, Response> {
    let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| unprocessable("destination", "can't be blank"))?;
    let from_form = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "destination")
        .map(|(_, v)| v.into_owned());
    let from_json = || {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("destination")?.as_str().map(str::to_string))
    };
    from_form
        .or_else(from_json)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| unprocessable("destination", "can't be blank"))
}

/// Moves a package to another repository under the same `distro/version` and
/// filename; its download count starts again. The answer describes the
/// package as it was in the source repository, as the documented example does.
pub(super) fn promote(
    shared: &PcShared,
    repo: &str,
    distro_version: &str,
    filename: &str,
    destination: &str,
) -> Response {
    let mut state = lock(&shared.state);
    if !state.repos.contains_key(destination) || destination == repo {
        return unprocessable("destination", "is not a repository you can promote to");
    }
    let Some(at) = state.repos.get(repo).and_then(|packages| {
        packages
            .iter()
            .position(|p| p.distro_version == distro_version && p.filename == filename)
    }) else {
        return not_found();
    };
    let taken = state.repos[destination]
        .iter()
        .any(|p| p.distro_version == distro_version && p.filename == filename);
    if taken {
        return unprocessable("filename", "has already been taken");
    }
    let mut package = state.repos.get_mut(repo).expect("looked up").remove(at);
    let ctx = Context {
        base_url: download_base(&state, shared),
        repo,
        indexed: true,
        private: state.private.contains(repo),
    };
    let body = views::details(&package, &ctx);
    package.downloads = 0;
    state.promotions += 1;
    state
        .repos
        .get_mut(destination)
        .expect("looked up")
        .push(package);
    json_reply(StatusCode::OK, &body)
}
