//! Who may read what: Basic auth with the Rails challenge, and the 403 of a
//! project whose `binarydownload` flag is disabled.

use super::Reply;
use crate::obs::ObsState;
use crate::server::basic_credentials;
use axum::http::{HeaderMap, StatusCode, header};

pub(super) fn check_auth(state: &ObsState, headers: &HeaderMap) -> Result<(), Reply> {
    let Some((user, password)) = &state.credentials else {
        return Ok(());
    };
    let challenge = |summary: &str| {
        let mut reply =
            Reply::rails_error(StatusCode::UNAUTHORIZED, "authentication_required", summary);
        reply
            .headers
            .push((header::WWW_AUTHENTICATE, "basic realm=\"API login\"".into()));
        reply
    };
    let Some(given) = basic_credentials(headers) else {
        return Err(challenge("Authentication required"));
    };
    if given.0 == *user && given.1 == *password {
        Ok(())
    } else {
        // Like the API, name the user but never the password.
        Err(challenge(&format!(
            "Unknown user '{}' or invalid password",
            given.0
        )))
    }
}

/// Rails' 403 for a project whose `binarydownload` flag is disabled; the download
/// variant names the package.
pub(super) fn binary_download_refused(
    state: &ObsState,
    project: &str,
    package: Option<&str>,
) -> Option<Reply> {
    let disabled = state
        .projects
        .get(project)
        .is_some_and(|p| p.binary_download_disabled);
    let summary = match package {
        Some(package) => {
            format!("No permission to download binaries from package {package}, project {project}")
        }
        None => format!("No permission to download binaries from project {project}"),
    };
    disabled.then(|| {
        Reply::rails_error(
            StatusCode::FORBIDDEN,
            "download_binary_no_permission",
            &summary,
        )
    })
}
