//! Other hosts: an `xml:base` or an absolute `location@href` may send a
//! download to another host than the repository's. That host is one the
//! reviewer must see and the config must name (`allow_hosts`), else the
//! repository is refused.

use super::primary::Package;
use crate::model::other_host;

/// `Err` says why `target` may not be followed from `repository`: another
/// host that `allow_hosts` does not name (`host` allows every port of it),
/// or a scheme other than http(s).
pub fn allowed(repository: &str, target: &str, allow_hosts: &[String]) -> Result<(), String> {
    if let Ok(parsed) = url::Url::parse(target)
        && !matches!(parsed.scheme(), "http" | "https" | "file")
    {
        return Err(format!(
            "`{}` is not an http(s) URL; refused",
            crate::display::text(target)
        ));
    }
    let Some(host) = other_host(repository, target) else {
        return Ok(());
    };
    let bare = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
    if allow_hosts.iter().any(|a| *a == host || a == bare) {
        return Ok(());
    }
    Err(format!(
        "`{}` is on another host, `{}`, than the repository; refused (name it in `allow_hosts` to take it)",
        crate::display::text(target),
        crate::display::text(&host)
    ))
}

/// A package's `xml:base` and absolute `href`, each by [`allowed`].
pub fn package_allowed(
    repository: &str,
    package: &Package,
    allow_hosts: &[String],
) -> Result<(), String> {
    let name = crate::display::text(&package.name).into_owned();
    // `xml:base` may name a local directory (`read.rs` judges that); a
    // location never names the disk itself.
    if url::Url::parse(&package.href).is_ok_and(|u| u.scheme() == "file") {
        return Err(format!(
            "the location of `{name}` names a local file; refused"
        ));
    }
    for (what, target) in [
        ("`xml:base`", package.base.as_deref()),
        ("location", Some(&package.href)),
    ] {
        if let Some(target) = target {
            allowed(repository, target, allow_hosts)
                .map_err(|e| format!("the {what} of `{name}`: {e}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_host_is_taken_only_when_allowed() {
        let repo = "http://127.0.0.1:8000/repo";
        assert_eq!(other_host(repo, "x86_64/a-1-1.x86_64.rpm"), None);
        assert_eq!(other_host(repo, "http://127.0.0.1:8000/elsewhere/"), None);
        let other = "http://127.0.0.1:9000/a-1-1.x86_64.rpm";
        assert_eq!(other_host(repo, other).as_deref(), Some("127.0.0.1:9000"));
        assert!(
            allowed(repo, other, &[])
                .unwrap_err()
                .contains("127.0.0.1:9000")
        );
        assert!(allowed(repo, other, &["127.0.0.1:9000".into()]).is_ok());
        assert!(allowed(repo, other, &["127.0.0.1".into()]).is_ok());
        assert!(allowed(repo, other, &["127.0.0.2".into()]).is_err());
        assert!(allowed(repo, "ftp://127.0.0.1/a.rpm", &["127.0.0.1".into()]).is_err());
        assert_eq!(
            other_host("https://example.org/r", "https://EXAMPLE.org:443/x"),
            None
        );
    }
}
