//! JSON shapes of the Packagecloud emulator: PackageFragment (listing) and
//! PackageDetails (upload answer, details route), fields in the documented order,
//! URLs site-relative except `download_url`.

use super::state::StoredPackage;
use pkgfile::PackageType;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

/// A JSON object that keeps its fields in insertion order. `serde_json::Map`
/// sorts them by name (the crate's `preserve_order` feature is off), which would
/// lose the documented order of the live API's objects.
#[derive(Debug, Clone, Default)]
pub(crate) struct Object(Vec<(&'static str, Value)>);

impl Object {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn insert(&mut self, key: &'static str, value: Value) {
        self.0.push((key, value));
    }

    #[cfg(test)]
    fn keys(&self) -> Vec<&'static str> {
        self.0.iter().map(|(k, _)| *k).collect()
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Stored packages claim creation times from here on, one second apart, so
/// `created_at` order is storage order (2024-01-01T00:00:00Z).
const CREATED_AT_BASE: u64 = 1_704_067_200;

/// Everything the views need besides the package.
pub(crate) struct Context<'a> {
    /// Where `download_url`s point: the emulator, or the CDN a test set.
    pub base_url: &'a str,
    /// `user/repo`
    pub repo: &'a str,
    pub indexed: bool,
    /// The repository is private: its downloads need the token.
    pub private: bool,
}

struct Urls {
    package_url: String,
    versions_url: String,
    stats_base: String,
    package_html_url: String,
    download_url: String,
    promote_url: String,
    destroy_url: String,
}

fn urls(p: &StoredPackage, ctx: &Context<'_>) -> Urls {
    let id = &p.identity;
    let repo = ctx.repo;
    let dv = &p.distro_version;
    let kind = id.package_type.as_str();
    let base = format!(
        "/api/v1/repos/{repo}/package/{kind}/{dv}/{}/{}",
        id.name, id.arch
    );
    // rpm: .../{version}/{release}; deb: .../{version}-{release} (documented forms).
    let version_path = match id.package_type {
        PackageType::Rpm => format!(
            "{}/{}",
            id.version,
            id.release.as_deref().unwrap_or_default()
        ),
        PackageType::Deb => id.deb_version(),
    };
    let extension = kind;
    Urls {
        package_url: format!("{base}/{version_path}.json"),
        versions_url: format!("{base}/versions.json"),
        stats_base: format!("{base}/{version_path}/stats/downloads"),
        package_html_url: format!("/{repo}/packages/{dv}/{}", p.filename),
        download_url: format!(
            "{}/{repo}/packages/{dv}/{}/download.{extension}?distro_version_id={}",
            ctx.base_url, p.filename, p.distro_version_id
        ),
        promote_url: format!("/api/v1/repos/{repo}/{dv}/{}/promote.json", p.filename),
        destroy_url: format!("/api/v1/repos/{repo}/{dv}/{}", p.filename),
    }
}

pub(crate) fn created_at(p: &StoredPackage) -> String {
    iso8601_millis(CREATED_AT_BASE + p.id)
}

fn uploader(repo: &str) -> &str {
    repo.split_once('/').map_or(repo, |(user, _)| user)
}

/// One element of `GET .../packages.json`.
pub(crate) fn fragment(p: &StoredPackage, ctx: &Context<'_>) -> Object {
    let u = urls(p, ctx);
    let id = &p.identity;
    let mut m = Object::new();
    m.insert("name", json!(id.name));
    m.insert("distro_version", json!(p.distro_version));
    m.insert("created_at", json!(created_at(p)));
    m.insert("version", json!(id.version));
    m.insert("release", json!(id.release));
    m.insert("epoch", json!(id.epoch.unwrap_or(0)));
    m.insert("scope", Value::Null);
    m.insert("private", json!(ctx.private));
    m.insert("type", json!(id.package_type.as_str()));
    m.insert("filename", json!(p.filename));
    m.insert("uploader_name", json!(uploader(ctx.repo)));
    m.insert("indexed", json!(ctx.indexed));
    m.insert("sha256sum", json!(p.sha256));
    m.insert("repository_html_url", json!(format!("/{}", ctx.repo)));
    m.insert("package_url", json!(u.package_url));
    insert_download_stats(&mut m, &u);
    m.insert("package_html_url", json!(u.package_html_url));
    m.insert("download_url", json!(u.download_url));
    m.insert("promote_url", json!(u.promote_url));
    m.insert("destroy_url", json!(u.destroy_url));
    m
}

/// The three download-statistics links, which both objects carry in this order.
fn insert_download_stats(m: &mut Object, u: &Urls) {
    m.insert(
        "downloads_detail_url",
        json!(format!("{}/detail.json", u.stats_base)),
    );
    m.insert(
        "downloads_series_url",
        json!(format!("{}/series/daily.json", u.stats_base)),
    );
    m.insert(
        "downloads_count_url",
        json!(format!("{}/count.json", u.stats_base)),
    );
}

/// The upload's 201 body and `GET .../package/...json`.
pub(crate) fn details(p: &StoredPackage, ctx: &Context<'_>) -> Object {
    let u = urls(p, ctx);
    let id = &p.identity;
    let repo_name = ctx.repo.split_once('/').map_or(ctx.repo, |(_, r)| r);
    let mut m = Object::new();
    m.insert("name", json!(id.name));
    m.insert("distro_version", json!(p.distro_version));
    m.insert("architecture", json!(id.arch));
    m.insert("repository", json!(repo_name));
    m.insert("size", json!(p.bytes.len().to_string()));
    m.insert("summary", Value::Null);
    m.insert("filename", json!(p.filename));
    m.insert("description", Value::Null);
    m.insert("dependencies", json!([]));
    m.insert("md5sum", json!(p.md5));
    m.insert("sha1sum", json!(p.sha1));
    m.insert("sha256sum", json!(p.sha256));
    m.insert("sha512sum", json!(p.sha512));
    m.insert("private", json!(ctx.private));
    m.insert("uploader_name", json!(uploader(ctx.repo)));
    m.insert("created_at", json!(created_at(p)));
    m.insert("licenses", json!([]));
    m.insert("version", json!(id.version));
    m.insert("release", json!(id.release));
    m.insert("epoch", json!(id.epoch.unwrap_or(0)));
    m.insert("indexed", json!(ctx.indexed));
    m.insert(
        "repository_url",
        json!(format!("/api/v1/repos/{}", ctx.repo)),
    );
    m.insert("repository_html_url", json!(format!("/{}", ctx.repo)));
    m.insert("package_url", json!(u.package_url));
    m.insert("versions_url", json!(u.versions_url));
    m.insert("promote_url", json!(u.promote_url));
    m.insert("total_downloads_count", json!(p.downloads));
    m.insert("download_url", json!(u.download_url));
    m.insert("package_html_url", json!(u.package_html_url));
    insert_download_stats(&mut m, &u);
    m.insert("destroy_url", json!(u.destroy_url));
    m.insert("self_url", json!(u.package_url));
    m
}

/// `2024-01-01T00:00:05.000Z` for Unix seconds (proleptic Gregorian, UTC).
pub(crate) fn iso8601_millis(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_their_field_order() {
        let mut object = Object::new();
        object.insert("name", json!("b"));
        object.insert("distro_version", json!("el/9"));
        object.insert("created_at", json!(1));
        assert_eq!(object.keys(), ["name", "distro_version", "created_at"]);
        assert_eq!(
            serde_json::to_string(&object).unwrap(),
            r#"{"name":"b","distro_version":"el/9","created_at":1}"#
        );
    }

    #[test]
    fn iso8601() {
        assert_eq!(iso8601_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_millis(1_704_067_205), "2024-01-01T00:00:05.000Z");
        assert_eq!(iso8601_millis(1_709_251_199), "2024-02-29T23:59:59.000Z");
    }
}
