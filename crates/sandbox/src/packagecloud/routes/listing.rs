//! A repository's description and its listings: the flat package list and
//! the search endpoint, paginated with `Link` and count headers.

use super::{download_base, is_indexed, json_reply, not_found};
use crate::faults::lock;
use crate::packagecloud::PcShared;
use crate::packagecloud::state::StoredPackage;
use crate::packagecloud::views::{self, Context};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;

const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 250;

pub(super) fn repo_info(shared: &PcShared, repo: &str) -> Response {
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

/// The value of the first `key` in the query's pairs.
fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The flat package listing, or with `searching` the search endpoint: the same
/// paginated fragments, narrowed by `q` (filename substring), `dist` (`distro` or
/// `distro/version`) and `filter` (package type, e.g. `rpms`, `debs`, `all`).
pub(super) fn list(
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
    let per_page = positive(param(&pairs, "per_page"))
        .unwrap_or(DEFAULT_PER_PAGE)
        .min(MAX_PER_PAGE);
    let page = positive(param(&pairs, "page")).unwrap_or(1);

    let mut state = lock(&shared.state);
    if !searching {
        state.apply_listing_changes(&shared.distributions, repo, page);
    }
    let Some(packages) = state.repos.get(repo) else {
        return not_found();
    };
    let packages: Vec<&StoredPackage> = packages
        .iter()
        .filter(|p| !searching || found_by(p, &pairs))
        .collect();
    let total = packages.len();
    let last_page = total.div_ceil(per_page).max(1);
    let body: Vec<views::Object> = packages
        .iter()
        .copied()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|p| {
            let ctx = Context {
                base_url: download_base(&state, shared),
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
        let links = links(&shared.base_url, raw_path, &pairs, page, last_page);
        if let Ok(value) = HeaderValue::from_str(&links) {
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

/// Whether the search's `q`, `dist` and `filter` all admit `p`.
fn found_by(p: &StoredPackage, pairs: &[(String, String)]) -> bool {
    let get = |key: &str| param(pairs, key);
    let q_ok = get("q").is_none_or(|q| p.filename.contains(q));
    let dist_ok = get("dist")
        .filter(|d| !d.is_empty())
        .is_none_or(|d| p.distro_version == d || p.distro_version.split('/').next() == Some(d));
    let type_ok = get("filter")
        .filter(|f| !f.is_empty() && *f != "all")
        .is_none_or(|f| f.trim_end_matches('s') == p.identity.package_type.as_str());
    q_ok && dist_ok && type_ok
}

/// The `Link` header of page `page` of `last_page`: the same query with
/// another `page`, sorted, in the order first, prev, last, next.
fn links(
    base_url: &str,
    raw_path: &str,
    pairs: &[(String, String)],
    page: usize,
    last_page: usize,
) -> String {
    let link_to = |target: usize, rel: &str| {
        let mut query: Vec<(String, String)> =
            pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
        query.push(("page".into(), target.to_string()));
        query.sort();
        let encoded = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        format!("<{base_url}{raw_path}?{encoded}>; rel=\"{rel}\"")
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
    links.join(", ")
}
