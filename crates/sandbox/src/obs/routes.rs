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

use super::xml::{self, BinaryEntry};
use super::{ObsBuild, ObsProject, ObsShared, ObsState};
use crate::faults::lock;
use crate::server::basic_credentials;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use md5::{Digest, Md5};
use pkgfile::PackageType;
use std::collections::BTreeSet;
use std::sync::Arc;

pub(super) fn router(shared: Arc<ObsShared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// A finished answer; turned into a response with an exact Content-Length.
pub(super) struct Reply {
    status: StatusCode,
    headers: Vec<(HeaderName, String)>,
    body: Bytes,
}

impl Reply {
    /// Perl backend style: `text/xml`, no caching, connection closed.
    pub(super) fn backend(status: StatusCode, body: String) -> Self {
        Self {
            status,
            headers: vec![
                (header::CONTENT_TYPE, "text/xml".into()),
                (header::CACHE_CONTROL, "no-cache".into()),
                (header::CONNECTION, "close".into()),
            ],
            body: body.into(),
        }
    }

    /// Backend error with numeric code; `details` repeats the status and summary
    /// except for parameter errors, as observed.
    pub(super) fn backend_error(status: StatusCode, summary: &str, with_details: bool) -> Self {
        let code = status.as_u16().to_string();
        let details = with_details.then(|| format!("{code} {summary}"));
        Self::backend(
            status,
            xml::status_document(&code, summary, details.as_deref()),
        )
    }

    fn rails(status: StatusCode, body: String) -> Self {
        Self {
            status,
            headers: vec![(
                header::CONTENT_TYPE,
                "application/xml; charset=utf-8".into(),
            )],
            body: body.into(),
        }
    }

    fn rails_error(status: StatusCode, code: &str, summary: &str) -> Self {
        let mut reply = Self::rails(status, xml::status_document(code, summary, None));
        reply.headers.push((
            HeaderName::from_static("x-opensuse-errorcode"),
            code.to_string(),
        ));
        reply
    }

    fn into_response(self, head_only: bool) -> Response {
        let length = self.body.len();
        let body = if head_only {
            Body::empty()
        } else {
            Body::from(self.body)
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        response
    }
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
    } else if let Err(reply) = check_auth(state, headers) {
        return reply;
    }
    let query = Query::parse(uri.query());
    match path.as_slice() {
        ["source", project, "_meta"] => source_meta(state, project),
        ["source", project] => source_list(state, project, &query),
        ["build", project] => with_project(state, project, build_repositories),
        ["build", project, "_result"] => super::result::result(state, project, &query),
        ["build", project, repo] => with_project(state, project, |p| build_archs(p, project, repo)),
        ["build", project, repo, arch] => {
            with_project(state, project, |p| build_packages(p, project, repo, arch))
        }
        ["build", project, repo, arch, package] => {
            if public && let Some(reply) = binary_download_refused(state, project, None) {
                return reply;
            }
            binary_list(state, project, repo, arch, package, &query)
        }
        ["build", project, repo, arch, package, file] => {
            download(state, project, repo, arch, package, file, &query)
        }
        _ => Reply::rails_error(StatusCode::NOT_FOUND, "not_found", "Not found"),
    }
}

/// Splits the raw path and percent-decodes each segment; `None` on bad UTF-8.
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

fn check_auth(state: &ObsState, headers: &HeaderMap) -> Result<(), Reply> {
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

/// The query as `(key, value)` pairs; a bare key has the value `""`.
pub(super) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    pub(super) fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn first(&self, key: &str) -> Option<&str> {
        self.all(key).into_iter().next()
    }

    /// A boolean already validated by `check`: bare or `1` is true.
    pub(super) fn flag(&self, key: &str) -> bool {
        self.first(key).is_some_and(|v| v.is_empty() || v == "1")
    }

    /// The backend's parameter checks: unknown keys first, then booleans.
    pub(super) fn check(&self, allowed: &[&str], booleans: &[&str]) -> Result<(), Reply> {
        let unknown: BTreeSet<&str> = self
            .pairs
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !allowed.contains(k))
            .collect();
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.iter().map(|k| format!("'{k}'")).collect();
            let summary = format!("unknown parameter {}", names.join(", "));
            return Err(Reply::backend_error(
                StatusCode::BAD_REQUEST,
                &summary,
                false,
            ));
        }
        let bad_bool = self
            .pairs
            .iter()
            .any(|(k, v)| booleans.contains(&k.as_str()) && !matches!(v.as_str(), "" | "0" | "1"));
        if bad_bool {
            return Err(Reply::backend_error(
                StatusCode::BAD_REQUEST,
                "not boolean",
                false,
            ));
        }
        Ok(())
    }
}

/// Rails' 403 for a project whose `binarydownload` flag is disabled; the download
/// variant names the package.
fn binary_download_refused(
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

fn with_project(state: &ObsState, project: &str, f: impl FnOnce(&ObsProject) -> Reply) -> Reply {
    match state.projects.get(project) {
        Some(p) => f(p),
        None => no_project(project),
    }
}

pub(super) fn no_project(project: &str) -> Reply {
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

fn source_meta(state: &ObsState, project: &str) -> Reply {
    let Some(p) = state.projects.get(project) else {
        return unknown_project(project);
    };
    let body = xml::document(|w| {
        xml::element(w, "project", &[("name", project)], |w| {
            xml::text(w, "title", &p.title)?;
            xml::text(w, "description", &p.description)?;
            xml::empty(w, "person", &[("userid", "Admin"), ("role", "maintainer")])?;
            for repo in &p.repositories {
                xml::element(w, "repository", &[("name", &repo.name)], |w| {
                    repo.archs.iter().try_for_each(|a| xml::text(w, "arch", a))
                })?;
            }
            Ok(())
        })
    });
    Reply::rails(StatusCode::OK, body)
}

fn unknown_project(project: &str) -> Reply {
    Reply::rails_error(
        StatusCode::NOT_FOUND,
        "unknown_project",
        &format!("Project not found: {project}"),
    )
}

fn package_entries(p: &ObsProject) -> Vec<(String, Option<String>)> {
    p.packages
        .iter()
        .map(|(name, pkg)| (name.clone(), pkg.origin_package.clone()))
        .collect()
}

/// Without `deleted=` Rails answers from its database (`count` attribute); with it
/// the backend answers. Flavours are listed either way (newer OBS).
fn source_list(state: &ObsState, project: &str, query: &Query) -> Reply {
    let Some(p) = state.projects.get(project) else {
        return unknown_project(project);
    };
    let entries = package_entries(p);
    let count = query.first("deleted").is_none().then_some(entries.len());
    Reply::rails(StatusCode::OK, xml::directory(&entries, count))
}

fn build_repositories(p: &ObsProject) -> Reply {
    let entries: Vec<_> = p
        .repositories
        .iter()
        .map(|r| (r.name.clone(), None))
        .collect();
    Reply::backend(StatusCode::OK, xml::directory(&entries, None))
}

fn build_archs(p: &ObsProject, project: &str, repo: &str) -> Reply {
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

fn build_packages(p: &ObsProject, project: &str, repo: &str, arch: &str) -> Reply {
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

pub(super) fn build_of<'a>(
    p: &'a ObsProject,
    repo: &str,
    arch: &str,
    package: &str,
) -> Option<&'a ObsBuild> {
    p.builds.get(&super::BuildKey::new(repo, arch, package))
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

fn binary_list(
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

fn download(
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
