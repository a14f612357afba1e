//! Request handling of the Packagecloud emulator: token auth, distributions,
//! paginated listing with `Link`/`Total` headers, multipart upload with server-side
//! renaming, package details, delete, and plain downloads of stored files.
//! Path segments are percent-decoded; the `.json` suffix is optional.

use super::views::{self, Context};
use super::{DuplicateWording, PcShared, PcState, StoreError, StoredPackage};
use crate::faults::lock;
use crate::server::basic_credentials;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pkgfile::PackageType;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 250;

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
        return download_file(&shared, &repo, &format!("{distro}/{version}"), filename);
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
            repo_info(&shared, &format!("{user}/{}", strip_json(repo)))
        }
        (Method::GET, ["repos", user, repo, packages]) if strip_json(packages) == "packages" => {
            list(
                &shared,
                &format!("{user}/{repo}"),
                uri.path(),
                uri.query(),
                false,
            )
        }
        (Method::GET, ["repos", user, repo, search]) if strip_json(search) == "search" => list(
            &shared,
            &format!("{user}/{repo}"),
            uri.path(),
            uri.query(),
            true,
        ),
        (Method::POST, ["repos", user, repo, packages]) if strip_json(packages) == "packages" => {
            let repo = format!("{user}/{repo}");
            upload(&shared, &repo, request).await
        }
        (Method::GET, ["repos", user, repo, "package", rest @ ..]) => {
            details(&shared, &format!("{user}/{repo}"), rest)
        }
        (Method::POST, ["repos", user, repo, distro, version, filename, call])
            if strip_json(call) == "promote" =>
        {
            let repo = format!("{user}/{repo}");
            let distro_version = format!("{distro}/{version}");
            let filename = filename.to_string();
            let destination = match destination_of(request).await {
                Ok(destination) => destination,
                Err(response) => return response,
            };
            promote(&shared, &repo, &distro_version, &filename, &destination)
        }
        (Method::DELETE, ["repos", user, repo, distro, version, filename]) => delete(
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

fn decode_segments(path: &str) -> Option<Vec<String>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|c| c.into_owned())
        })
        .collect()
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

fn is_indexed(state: &PcState, p: &StoredPackage) -> bool {
    p.uploaded_at
        .is_none_or(|at| at.elapsed() >= state.index_delay)
}

fn repo_info(shared: &PcShared, repo: &str) -> Response {
    let state = lock(&shared.state);
    let Some(packages) = state.repos.get(repo) else {
        return not_found();
    };
    let name = repo.split_once('/').map_or(repo, |(_, r)| r);
    // Fields in the order of the reference's example.
    let mut body = views::Object::new();
    body.insert("name", json!(name));
    body.insert("created_at", json!(views::iso8601_millis(1_704_067_200)));
    body.insert("url", json!(format!("{}/{repo}", shared.base_url)));
    body.insert("last_push_human", json!("less than a minute ago"));
    body.insert(
        "package_count_human",
        json!(format!("{} packages", packages.len())),
    );
    body.insert("private", json!(state.private.contains(repo)));
    body.insert("fqname", json!(repo));
    json_reply(StatusCode::OK, &body)
}

/// A positive integer query value, or `None`.
fn positive(value: Option<&str>) -> Option<usize> {
    value
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
}

/// The flat package listing, or with `searching` the search endpoint: the same
/// paginated fragments, narrowed by `q` (filename substring), `dist` (`distro` or
/// `distro/version`) and `filter` (package type, e.g. `rpms`, `debs`, `all`).
fn list(
    shared: &PcShared,
    repo: &str,
    raw_path: &str,
    raw_query: Option<&str>,
    searching: bool,
) -> Response {
    let pairs: Vec<(String, String)> = raw_query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let per_page = positive(get("per_page"))
        .unwrap_or(DEFAULT_PER_PAGE)
        .min(MAX_PER_PAGE);
    let page = positive(get("page")).unwrap_or(1);

    let mut state = lock(&shared.state);
    if !searching {
        state.apply_listing_changes(&shared.distributions, repo, page);
    }
    let Some(packages) = state.repos.get(repo) else {
        return not_found();
    };
    let matches = |p: &&StoredPackage| {
        if !searching {
            return true;
        }
        let q_ok = get("q").is_none_or(|q| p.filename.contains(q));
        let dist_ok = get("dist")
            .filter(|d| !d.is_empty())
            .is_none_or(|d| p.distro_version == d || p.distro_version.split('/').next() == Some(d));
        let type_ok = get("filter")
            .filter(|f| !f.is_empty() && *f != "all")
            .is_none_or(|f| f.trim_end_matches('s') == p.identity.package_type.as_str());
        q_ok && dist_ok && type_ok
    };
    let packages: Vec<&StoredPackage> = packages.iter().filter(matches).collect();
    let total = packages.len();
    let last_page = total.div_ceil(per_page).max(1);
    let body: Vec<views::Object> = packages
        .iter()
        .copied()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|p| {
            let ctx = Context {
                base_url: &shared.base_url,
                repo,
                indexed: is_indexed(&state, p),
                private: state.private.contains(repo),
            };
            views::fragment(p, &ctx)
        })
        .collect();

    let mut response = json_reply(StatusCode::OK, &body);
    let headers = response.headers_mut();
    if last_page > 1 && state.link_headers {
        let link_to = |target: usize, rel: &str| {
            let mut query: Vec<(String, String)> =
                pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
            query.push(("page".into(), target.to_string()));
            query.sort();
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish();
            format!("<{}{raw_path}?{encoded}>; rel=\"{rel}\"", shared.base_url)
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(link_to(1, "first"));
            links.push(link_to((page - 1).min(last_page), "prev"));
        }
        if page < last_page {
            links.push(link_to(last_page, "last"));
            links.push(link_to(page + 1, "next"));
        }
        if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
            headers.insert(header::LINK, value);
        }
    }
    if state.count_headers {
        headers.insert("total", HeaderValue::from(total));
        headers.insert("per-page", HeaderValue::from(per_page));
        headers.insert("max-per-page", HeaderValue::from(MAX_PER_PAGE));
    }
    response
}

async fn upload(shared: &PcShared, repo: &str, request: Request) -> Response {
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
                base_url: &shared.base_url,
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

/// `package/:type/:distro/:version/:name/:arch/:version/:release[.json]`, or for
/// debs `.../:arch/:version-:release[.json]`.
fn details(shared: &PcShared, repo: &str, rest: &[&str]) -> Response {
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
                base_url: &shared.base_url,
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

fn delete(shared: &PcShared, repo: &str, distro_version: &str, filename: &str) -> Response {
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

/// The promote call's `destination=user/repo`, as a form (or JSON) field.
async fn destination_of(request: Request) -> Result<String, Response> {
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
fn promote(
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
        base_url: &shared.base_url,
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

fn download_file(shared: &PcShared, repo: &str, distro_version: &str, filename: &str) -> Response {
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
