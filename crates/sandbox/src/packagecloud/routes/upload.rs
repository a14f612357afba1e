//! The multipart upload: the server names the file from its headers, and
//! answers 422 with Packagecloud's bodies for what it cannot store.

use super::{download_base, json_reply, not_found, unprocessable};
use crate::faults::lock;
use crate::packagecloud::state::StoreError;
use crate::packagecloud::views::{self, Context};
use crate::packagecloud::{DuplicateWording, PcShared};
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use std::time::Instant;

pub(super) async fn upload(shared: &PcShared, repo: &str, request: Request) -> Response {
    let corrupt = request
        .extensions()
        .get::<crate::faults::CorruptUploadMark>()
        .is_some();
    let mut multipart = match Multipart::from_request(request, &()).await {
        Ok(m) => m,
        Err(e) => return json_reply(StatusCode::BAD_REQUEST, &json!({"error": e.body_text()})),
    };
    let mut distro_id: Option<String> = None;
    let mut file: Option<Bytes> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                // The part's file name is deliberately ignored: the server names files.
                let name = field.name().unwrap_or_default().to_string();
                let data = match field.bytes().await {
                    Ok(data) => data,
                    Err(e) => {
                        return json_reply(
                            StatusCode::BAD_REQUEST,
                            &json!({"error": e.body_text()}),
                        );
                    }
                };
                match name.as_str() {
                    "package[distro_version_id]" => {
                        distro_id = Some(String::from_utf8_lossy(&data).trim().to_string());
                    }
                    "package[package_file]" if corrupt => file = Some(flip_last_byte(data)),
                    "package[package_file]" => file = Some(data),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(e) => return json_reply(StatusCode::BAD_REQUEST, &json!({"error": e.body_text()})),
        }
    }

    let mut state = lock(&shared.state);
    state.upload_attempts += 1;
    if !state.repos.contains_key(repo) {
        return not_found();
    }
    let Some(file) = file else {
        return unprocessable("package_file", "can't be blank");
    };
    let Some(distro_id) = distro_id.and_then(|d| d.parse::<u64>().ok()) else {
        return unprocessable("distro_version_id", "is invalid");
    };
    match state.store(
        &shared.distributions,
        repo,
        distro_id,
        file,
        Some(Instant::now()),
    ) {
        Ok(stored) => {
            state.uploads_stored += 1;
            let ctx = Context {
                base_url: download_base(&state, shared),
                repo,
                indexed: false,
                private: state.private.contains(repo),
            };
            json_reply(StatusCode::CREATED, &views::details(&stored, &ctx))
        }
        Err(StoreError::UnknownDistro) => unprocessable("distro_version_id", "is invalid"),
        Err(StoreError::WrongType) => unprocessable(
            "repository",
            "The specified distro does not support the package you've tried to upload",
        ),
        Err(StoreError::Unreadable(_)) => unprocessable("package_file", "is not a valid package"),
        Err(StoreError::Duplicate) => match state.duplicate_wording {
            DuplicateWording::FilenameTaken => unprocessable("filename", "has already been taken"),
            DuplicateWording::FullNameExists => {
                unprocessable("repository", "Validation failed: Full name already exists.")
            }
        },
    }
}

/// The file as a proxy that damaged it would pass it on: one bit of its last
/// byte flipped (in the payload, so the package metadata still reads).
fn flip_last_byte(data: Bytes) -> Bytes {
    let mut bytes = data.to_vec();
    if let Some(last) = bytes.last_mut() {
        *last ^= 0x01;
    }
    Bytes::from(bytes)
}
