//! `auth:` of a published repository (`rpm-md:`, `deb:`, `gbs:` entries,
//! `obs.published_auth`): basic credentials from the config, the environment
//! or a netrc file, a bearer token or another header from the environment, a
//! TLS client certificate, a CA bundle. What a plan records of it is its kind
//! (`PublishedAuth::kind`), never a value.

use super::raw::RawRepositoryAuth;
use super::{Environment, Secret};
use crate::display::ShownUrl;
use crate::http::{Credential, RepositoryAuth};
use std::path::Path;

/// A repository's credentials and the words a plan records for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedAuth {
    /// `basic`, `netrc`, `bearer`, `header X-Name`, `client certificate`,
    /// `CA bundle`, joined by ` + `.
    pub kind: String,
    pub spec: RepositoryAuth,
}

/// Where the config's own file and the environment are, for reading an `auth:` block.
pub(super) struct Context<'a> {
    pub config: &'a Path,
    pub env: &'a Environment,
}

pub(super) fn repository_auth(
    raw: Option<&RawRepositoryAuth>,
    url: &str,
    key: &str,
    context: &Context<'_>,
) -> Result<Option<PublishedAuth>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let key = format!("{key}.auth");
    if crate::http::local_path(url).is_some() {
        return Err(format!(
            "`{key}`: a repository on disk takes no credentials"
        ));
    }
    let mut kinds = Vec::new();
    let credential = credential(raw, url, &key, context.env, &mut kinds)?;
    let identity = match (&raw.client_cert, &raw.client_key) {
        (Some(cert), Some(private)) => {
            let cert = read(context.config, cert, &format!("{key}.client_cert"))?;
            let private = read(context.config, private, &format!("{key}.client_key"))?;
            kinds.push("client certificate".to_string());
            let pem = String::from_utf8(cert.into_iter().chain(*b"\n").chain(private).collect())
                .map_err(|_| format!("`{key}`: the client certificate or key is not PEM text"))?;
            Some(Secret::new(pem))
        }
        (None, None) => None,
        _ => return Err(format!("`{key}`: give both `client_cert` and `client_key`")),
    };
    let ca_bundle = match &raw.ca_bundle {
        Some(file) => {
            kinds.push("CA bundle".to_string());
            Some(read(context.config, file, &format!("{key}.ca_bundle"))?)
        }
        None => None,
    };
    if kinds.is_empty() {
        return Err(format!("`{key}` names no credential"));
    }
    let spec = RepositoryAuth {
        credential,
        identity,
        ca_bundle,
    };
    spec.check().map_err(|e| format!("`{key}`: {e}"))?;
    Ok(Some(PublishedAuth {
        kind: kinds.join(" + "),
        spec,
    }))
}

/// The one request credential of the block, if any.
fn credential(
    raw: &RawRepositoryAuth,
    url: &str,
    key: &str,
    env: &Environment,
    kinds: &mut Vec<String>,
) -> Result<Option<Credential>, String> {
    let basic = raw.user.is_some()
        || raw.user_env.is_some()
        || raw.password.is_some()
        || raw.password_env.is_some();
    let header = raw.header.is_some() || raw.header_env.is_some();
    let given = [basic, raw.netrc, raw.bearer_env.is_some(), header];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(format!(
            "`{key}`: give one of `user`/`password`, `netrc`, `bearer_env` or `header`/`header_env`"
        ));
    }
    let variable = |name: &str, what: &str| {
        env.variables
            .get(name)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| format!("`{key}.{what}`: the environment variable `{name}` is not set"))
    };
    if basic {
        let user = match (&raw.user, &raw.user_env) {
            (Some(user), None) => user.clone(),
            (None, Some(name)) => variable(name, "user_env")?,
            _ => return Err(format!("`{key}`: give one of `user` and `user_env`")),
        };
        let password = match (&raw.password, &raw.password_env) {
            (Some(password), None) => password.clone(),
            (None, Some(name)) => Secret::new(variable(name, "password_env")?),
            _ => {
                return Err(format!(
                    "`{key}`: give one of `password` and `password_env`"
                ));
            }
        };
        kinds.push("basic".to_string());
        return Ok(Some(Credential::Basic { user, password }));
    }
    if raw.netrc {
        kinds.push("netrc".to_string());
        return netrc_credential(url, key, env).map(Some);
    }
    if let Some(name) = &raw.bearer_env {
        let token = variable(name, "bearer_env")?;
        kinds.push("bearer".to_string());
        return Ok(Some(Credential::Header {
            name: "Authorization".to_string(),
            value: Secret::new(format!("Bearer {token}")),
        }));
    }
    if header {
        let (Some(name), Some(from)) = (&raw.header, &raw.header_env) else {
            return Err(format!("`{key}`: give both `header` and `header_env`"));
        };
        let value = Secret::new(variable(from, "header_env")?);
        kinds.push(format!("header {}", name.trim()));
        return Ok(Some(Credential::Header {
            name: name.trim().to_string(),
            value,
        }));
    }
    Ok(None)
}

fn netrc_credential(url: &str, key: &str, env: &Environment) -> Result<Credential, String> {
    let file = env
        .netrc
        .as_deref()
        .ok_or_else(|| format!("`{key}.netrc`: neither `NETRC` nor a home directory is set"))?;
    let text = crate::secret::read_bounded(file)
        .map_err(|e| format!("`{key}.netrc`: cannot read `{}`: {e}", file.display()))?;
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let (user, password) = crate::secret::netrc_entry(text.expose(), &host).ok_or_else(|| {
        format!(
            "`{key}.netrc`: `{}` has no `machine {host}` (nor `default`) with a login and password for `{}`",
            file.display(),
            ShownUrl::new(url)
        )
    })?;
    Ok(Credential::Basic { user, password })
}

/// A file the block names, relative to the config file, read whole (a few KiB).
fn read(config: &Path, file: &Path, key: &str) -> Result<Vec<u8>, String> {
    let path = config.parent().unwrap_or(Path::new(".")).join(file);
    crate::secret::read_bounded(&path)
        .map(|s| s.expose().as_bytes().to_vec())
        .map_err(|e| format!("`{key}`: cannot read `{}`: {e}", path.display()))
}

/// Every host has one `auth`: two entries on one scheme, host and port with
/// different credentials would make which is sent depend on the order.
pub(super) fn one_per_host<'a>(
    entries: impl Iterator<Item = (&'a str, Option<&'a PublishedAuth>)>,
) -> Result<(), String> {
    let mut seen: Vec<(String, &str, &PublishedAuth)> = Vec::new();
    for (url, auth) in entries {
        let (Some(auth), Some(origin)) = (auth, crate::http::origin(url)) else {
            continue;
        };
        if let Some((_, other, _)) = seen.iter().find(|(o, _, a)| *o == origin && *a != auth) {
            return Err(format!(
                "`{}` and `{}` are on one host but have different `auth`",
                ShownUrl::new(*other),
                ShownUrl::new(url)
            ));
        }
        seen.push((origin, url, auth));
    }
    Ok(())
}
