//! Which proxy a request goes through, so that a message can name it. reqwest
//! picks the proxy itself from the same variables (`http_proxy`, `https_proxy`,
//! `all_proxy`, `no_proxy`); this reads them only to say which one was used, as
//! `host:port`: a proxy URL's credentials never leave this module.

/// The proxy settings of the environment, reduced to `host:port`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    http: Option<String>,
    https: Option<String>,
    all: Option<String>,
    /// `no_proxy` entries, lowercase, without a leading dot.
    bypass: Vec<String>,
}

impl Proxies {
    /// From the variables as `var` reads them (lowercase first, as curl does).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let either = |name: &str| var(name).or_else(|| var(&name.to_ascii_uppercase()));
        let named = |name: &str| either(name).as_deref().and_then(host_port);
        Self {
            http: named("http_proxy"),
            https: named("https_proxy"),
            all: named("all_proxy"),
            bypass: either("no_proxy")
                .unwrap_or_default()
                .split(',')
                .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
        }
    }

    /// The proxy `url` goes through, as `host:port`, or `None` for a direct
    /// connection (no proxy set, `no_proxy` matches, or a `file://` URL).
    pub fn for_url(&self, url: &str) -> Option<&str> {
        let url = reqwest::Url::parse(url).ok()?;
        let proxy = match url.scheme() {
            "http" => self.http.as_ref().or(self.all.as_ref()),
            "https" => self.https.as_ref().or(self.all.as_ref()),
            _ => None,
        }?;
        let host = url
            .host_str()?
            .trim_matches(['[', ']'])
            .to_ascii_lowercase();
        let bypassed = self
            .bypass
            .iter()
            .any(|entry| entry == "*" || host == *entry || host.ends_with(&format!(".{entry}")));
        (!bypassed).then_some(proxy.as_str())
    }
}

/// `host:port` of a proxy URL (`http://user:pw@proxy:3128` → `proxy:3128`);
/// a value without a scheme is read as `http://`, as reqwest reads it.
fn host_port(value: &str) -> Option<String> {
    let value = value.trim();
    let url = if value.contains("://") {
        reqwest::Url::parse(value)
    } else {
        reqwest::Url::parse(&format!("http://{value}"))
    }
    .ok()?;
    let port = url.port_or_known_default()?;
    Some(format!("{}:{port}", url.host_str()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(vars: &[(&str, &str)]) -> Proxies {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Proxies::from_vars(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn names_the_proxy_of_a_url_without_its_credentials() {
        let p = proxies(&[
            ("http_proxy", "http://user:secret@proxy.example:3128"),
            ("HTTPS_PROXY", "tls-proxy:8443"),
            ("no_proxy", "localhost,.internal.example"),
        ]);
        assert_eq!(
            p.for_url("http://obs.example/x"),
            Some("proxy.example:3128")
        );
        assert_eq!(
            p.for_url("https://packagecloud.io/"),
            Some("tls-proxy:8443")
        );
        assert_eq!(p.for_url("http://localhost:8080/"), None);
        assert_eq!(p.for_url("http://a.internal.example/"), None);
        assert_eq!(p.for_url("file:///srv/repo"), None);
        assert!(!format!("{p:?}").contains("secret"));
        let all = proxies(&[("all_proxy", "socks5://127.0.0.1:9")]);
        assert_eq!(all.for_url("https://x.example/"), Some("127.0.0.1:9"));
        assert_eq!(proxies(&[]).for_url("http://x.example/"), None);
    }
}
