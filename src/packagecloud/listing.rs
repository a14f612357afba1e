//! Complete listings of a repository: the first page says how many there are
//! (`Total`, the `Link` header), the rest are fetched in parallel and every page
//! cross-checked, so that a listing is whole or an error, never quietly short.
//! Also the search for one package by name.

use super::client::{
    MAX_PER_PAGE, PAGE_CONCURRENCY, PackagecloudClient, PackagecloudError, SEGMENT, target_package,
};
use super::types::PackageFragment;
use crate::display::ShownUrl;
use crate::model::{ArtifactKey, TargetInventory, TargetPackage};
use futures::{StreamExt, TryStreamExt};
use percent_encoding::utf8_percent_encode;
use reqwest::header::HeaderMap;
use std::collections::BTreeSet;

impl PackagecloudClient {
    /// Every package of the repository, or an error: never a smaller inventory.
    ///
    /// Page 1 is asked for with the largest page size; its `Total` and `Per-Page`
    /// say how many pages follow, and those are fetched concurrently (bounded).
    /// Every page must repeat the total and be full (the last one: the rest).
    /// Without the counts, `rel="next"` links are followed one page at a time.
    pub async fn list(&self) -> Result<TargetInventory, PackagecloudError> {
        self.listing(false).await
    }

    /// [`Self::list`], keeping where each package's details are
    /// (`TargetPackage::details_path`); a plain listing leaves them out, as
    /// they are a good part of a large listing's memory.
    pub async fn list_with_details(&self) -> Result<TargetInventory, PackagecloudError> {
        self.listing(true).await
    }

    async fn listing(&self, details: bool) -> Result<TargetInventory, PackagecloudError> {
        let first_url = format!(
            "{}?per_page={MAX_PER_PAGE}",
            self.repo_url("/packages.json")
        );
        let (headers, first): (_, Vec<PackageFragment>) = self.get_json(&first_url).await?;
        let links = parse_link_header(&headers);
        let total = header_number(&headers, "Total");
        if let Some(total) = total {
            self.check_listing_size(total)?;
        }
        let fragments = match (total, header_number(&headers, "Per-Page")) {
            (Some(total), Some(per_page)) if per_page > 0 => {
                self.counted_pages(&first_url, first, &links, total, per_page)
                    .await?
            }
            _ => self.follow_next(first, links, total).await?,
        };

        let mut inventory = TargetInventory::default();
        for fragment in fragments {
            let key = ArtifactKey::new(&fragment.distro_version, &fragment.filename);
            let mut package = target_package(key.clone(), fragment);
            if !details {
                package.details_path = None;
            }
            if inventory.packages.insert(key.clone(), package).is_some() {
                return Err(self.incomplete(format!(
                    "`{key}` was listed twice (the listing shifted while paging)"
                )));
            }
        }
        Ok(inventory)
    }

    /// Pages 2..n of a listing whose first page said `Total` and `Per-Page`.
    async fn counted_pages(
        &self,
        first_url: &str,
        first: Vec<PackageFragment>,
        links: &[(String, String)],
        total: usize,
        per_page: usize,
    ) -> Result<Vec<PackageFragment>, PackagecloudError> {
        let pages = total.div_ceil(per_page).max(1);
        let expected_len = |page: usize| {
            if page < pages {
                per_page
            } else {
                total - per_page * (pages - 1)
            }
        };
        self.check_page_len(1, first.len(), expected_len(1))?;
        let template = links
            .iter()
            .find(|(rel, _)| rel == "last")
            .map(|(_, url)| url.clone());
        let rest: Vec<Vec<PackageFragment>> = futures::stream::iter(2..=pages)
            .map(|page| {
                let url = page_url(template.as_deref(), first_url, page, per_page);
                async move {
                    let (headers, items): (_, Vec<PackageFragment>) = self
                        .get_json(&url)
                        .await
                        .map_err(|e| self.page_failed(page, e))?;
                    let now = header_number(&headers, "Total");
                    if now != Some(total) {
                        return Err(self.incomplete(format!(
                            "the total changed from {total} to {} while paging (page {page})",
                            now.map_or("(missing)".into(), |t| t.to_string())
                        )));
                    }
                    self.check_page_len(page, items.len(), expected_len(page))?;
                    Ok(items)
                }
            })
            .buffered(PAGE_CONCURRENCY)
            .try_collect()
            .await?;
        let mut all = first;
        all.extend(rest.into_iter().flatten());
        Ok(all)
    }

    fn check_page_len(
        &self,
        page: usize,
        len: usize,
        expected: usize,
    ) -> Result<(), PackagecloudError> {
        if len == expected {
            Ok(())
        } else {
            Err(self.incomplete(format!(
                "page {page} held {len} packages, expected {expected}"
            )))
        }
    }

    /// A listing larger than [`crate::http::Limits::max_listed_packages`] is not
    /// read on: a server that pages forever must not fill the memory.
    fn check_listing_size(&self, count: usize) -> Result<(), PackagecloudError> {
        let limit = self.http.limits.max_listed_packages;
        if count > limit {
            return Err(self.incomplete(format!(
                "it holds more than the {limit} packages pkgsync reads from one listing (`limits.max_listed_packages`)"
            )));
        }
        Ok(())
    }

    /// A full page (or more) that neither counts the listing nor links to a next
    /// page may not be the end of it.
    fn check_unpaginated(
        &self,
        page: usize,
        len: usize,
        links: &[(String, String)],
    ) -> Result<(), PackagecloudError> {
        if len >= MAX_PER_PAGE && next_link(links).is_none() {
            return Err(self.incomplete(format!(
                "page {page} is full ({len} packages) but carries no pagination headers (neither `Total` nor a `Link` to a next page)"
            )));
        }
        Ok(())
    }

    /// A page that could not be fetched makes the whole listing incomplete; errors
    /// that are not about this page (401, say) pass through.
    fn page_failed(&self, page: usize, error: PackagecloudError) -> PackagecloudError {
        match error {
            PackagecloudError::Http(e) => {
                self.incomplete(format!("page {page} could not be fetched: {e}"))
            }
            other => other,
        }
    }

    /// Fallback without `Total`/`Per-Page`: follow `rel="next"` one page at a time.
    /// A `Total` alone is still cross-checked.
    async fn follow_next(
        &self,
        mut all: Vec<PackageFragment>,
        mut links: Vec<(String, String)>,
        total: Option<usize>,
    ) -> Result<Vec<PackageFragment>, PackagecloudError> {
        let mut seen = BTreeSet::new();
        let mut page = 1;
        if total.is_none() {
            self.check_unpaginated(page, all.len(), &links)?;
        }
        self.check_listing_size(all.len())?;
        while let Some(next) = next_link(&links) {
            if !seen.insert(next.clone()) {
                return Err(self.incomplete(format!(
                    "the `next` link `{}` repeats",
                    ShownUrl::new(&next)
                )));
            }
            let url = self.same_origin(&next)?;
            page += 1;
            let (headers, items): (_, Vec<PackageFragment>) = self
                .get_json(&url)
                .await
                .map_err(|e| self.page_failed(page, e))?;
            let now = header_number(&headers, "Total");
            if let Some(total) = total
                && now != Some(total)
            {
                return Err(self.incomplete(format!(
                    "the total changed from {total} to {} while paging (page {page})",
                    now.map_or("(missing)".into(), |t| t.to_string())
                )));
            }
            links = parse_link_header(&headers);
            if items.is_empty() && next_link(&links).is_some() {
                return Err(
                    self.incomplete(format!("page {page} is empty but links to a next page"))
                );
            }
            if total.is_none() {
                self.check_unpaginated(page, items.len(), &links)?;
            }
            all.extend(items);
            self.check_listing_size(all.len())?;
        }
        if let Some(total) = total
            && all.len() != total
        {
            return Err(self.incomplete(format!(
                "{} packages were listed, the server counts {total}",
                all.len()
            )));
        }
        Ok(all)
    }

    /// Link URLs are absolute; only follow them to the configured host, so the
    /// token is never sent elsewhere.
    fn same_origin(&self, link: &str) -> Result<String, PackagecloudError> {
        let ours = url::Url::parse(&self.base).ok();
        let theirs = url::Url::parse(link).ok();
        match (ours, theirs) {
            (Some(a), Some(b)) if a.origin() == b.origin() => Ok(link.to_string()),
            _ => Err(self.incomplete(format!(
                "a pagination link points to another host: `{}`",
                ShownUrl::new(link)
            ))),
        }
    }

    fn incomplete(&self, detail: String) -> PackagecloudError {
        PackagecloudError::Incomplete {
            repo: self.repo.clone(),
            detail,
        }
    }

    /// Looks one package up by name (search API, following `next` pages when the
    /// name is a substring of many), for checks after an upload whose answer was
    /// lost or refused as a duplicate.
    pub async fn find(
        &self,
        key: &ArtifactKey,
    ) -> Result<Option<TargetPackage>, PackagecloudError> {
        let mut url = format!(
            "{}?q={}&dist={}&per_page={MAX_PER_PAGE}",
            self.repo_url("/search.json"),
            utf8_percent_encode(&key.filename, SEGMENT),
            utf8_percent_encode(&key.distro_version, SEGMENT)
        );
        let mut seen = BTreeSet::new();
        loop {
            let (headers, items): (_, Vec<PackageFragment>) = self.get_json(&url).await?;
            if let Some(found) = items
                .into_iter()
                .find(|f| f.filename == key.filename && f.distro_version == key.distro_version)
            {
                return Ok(Some(target_package(key.clone(), found)));
            }
            let Some(next) = next_link(&parse_link_header(&headers)) else {
                return Ok(None);
            };
            if !seen.insert(next.clone()) {
                return Err(self.incomplete(format!(
                    "the search `next` link `{}` repeats",
                    ShownUrl::new(&next)
                )));
            }
            url = self.same_origin(&next)?;
        }
    }
}

fn next_link(links: &[(String, String)]) -> Option<String> {
    links
        .iter()
        .find(|(rel, _)| rel == "next")
        .map(|(_, url)| url.clone())
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<usize> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `<url>; rel="next", <url>; rel="last"` → `[("next", url), ("last", url)]`.
pub fn parse_link_header(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut links = Vec::new();
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let Some(url) = parts
                .next()
                .map(str::trim)
                .and_then(|u| u.strip_prefix('<')?.strip_suffix('>'))
            else {
                continue;
            };
            for param in parts {
                if let Some(rel) = param.trim().strip_prefix("rel=") {
                    links.push((rel.trim_matches('"').to_string(), url.to_string()));
                }
            }
        }
    }
    links
}

/// Page `page` of a listing: from the `last` link when there is one (it carries
/// the server's own parameters), else from the first request's URL.
fn page_url(template: Option<&str>, first: &str, page: usize, per_page: usize) -> String {
    let base = template.unwrap_or(first);
    let Ok(mut url) = url::Url::parse(base) else {
        return format!("{first}&page={page}");
    };
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "page" && k != "per_page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("page", &page.to_string())
        .append_pair("per_page", &per_page.to_string());
    // The template may come from the server; only its path and query are used.
    match (url::Url::parse(first), template) {
        (Ok(mut own), Some(_)) => {
            own.set_path(url.path());
            own.set_query(url.query());
            own.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_link_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            "<https://packagecloud.io/api/v1/repos/julio/test/packages.json?page=5>; rel=\"last\", <https://packagecloud.io/api/v1/repos/julio/test/packages.json?page=2>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        let links = parse_link_header(&headers);
        assert_eq!(links[0].0, "last");
        assert!(links[0].1.ends_with("page=5"));
        assert_eq!(links[1].0, "next");
    }

    #[test]
    fn page_urls_keep_our_host() {
        let url = page_url(
            Some("https://evil.example/api/v1/repos/u/r/packages.json?page=9&per_page=250"),
            "http://127.0.0.1:1/api/v1/repos/u/r/packages.json?per_page=250",
            3,
            250,
        );
        assert_eq!(
            url,
            "http://127.0.0.1:1/api/v1/repos/u/r/packages.json?page=3&per_page=250"
        );
    }
}
