//! osc's own config (`~/.config/osc/oscrc` or `~/.oscrc`) as the last source of
//! OBS credentials, after the environment and the pkgsync config.
//!
//! The file is INI: one section per API URL with `user` and either `pass`
//! (plain) or `passx` (osc's obfuscation: base64 of bzip2). A section whose
//! credentials live in a keyring holds no password pkgsync can read. The password
//! only ever becomes a [`Secret`]; messages name the file and the section.

use crate::secret::Secret;
use base64::Engine;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Credentials read from an oscrc, and where from.
#[derive(Debug, Clone)]
pub struct OscCredentials {
    pub user: String,
    pub password: Secret,
    pub section: String,
}

/// What an oscrc holds for one API URL.
#[derive(Debug)]
pub enum Lookup {
    Found(OscCredentials),
    /// No section for the URL, or one without a user.
    Nothing,
    /// A section for the URL whose password pkgsync cannot read (a keyring).
    Unreadable {
        section: String,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum OscrcError {
    #[error("cannot read osc's config `{path}`: {message}")]
    File { path: PathBuf, message: String },
    #[error("osc's config `{path}`, section `[{section}]`: {reason}")]
    Password {
        path: PathBuf,
        section: String,
        reason: String,
    },
}

/// The oscrc osc itself would read: `$OSC_CONFIG`, else the XDG location, else
/// `~/.oscrc`; the first that exists.
pub fn locate(
    osc_config: Option<PathBuf>,
    config_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> Option<PathBuf> {
    osc_config
        .into_iter()
        .chain(config_home.map(|c| c.join("osc/oscrc")))
        .chain(home.map(|h| h.join(".oscrc")))
        .find(|p| p.is_file())
}

/// The credentials `path` holds for `api_url` (compared without a trailing `/`
/// and without case in scheme and host).
pub fn lookup(path: &Path, api_url: &str) -> Result<Lookup, OscrcError> {
    let file_error = |message: String| OscrcError::File {
        path: path.to_path_buf(),
        message,
    };
    // As Python's configparser reads it: no quoting, no escapes.
    let options = ini::ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ini::ParseOption::default()
    };
    let ini = ini::Ini::load_from_file_opt(path, options).map_err(|e| file_error(e.to_string()))?;
    let wanted = normalise(api_url);
    let Some((section, properties)) = ini
        .iter()
        .find_map(|(name, props)| Some((name?, props)).filter(|(n, _)| normalise(n) == wanted))
    else {
        return Ok(Lookup::Nothing);
    };
    // configparser folds key case: `User` is `user`.
    let get = |key: &str| {
        properties
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    };
    let Some(user) = get("user").filter(|u| !u.is_empty()) else {
        return Ok(Lookup::Nothing);
    };
    let obfuscated_manager = get("credentials_mgr_class").is_some_and(|c| c.contains("Obfuscated"));
    let password = match (get("passx"), get("pass")) {
        (Some(passx), _) => decode_passx(passx),
        (None, Some(pass)) if obfuscated_manager => decode_passx(pass),
        (None, Some(pass)) => Ok(pass.to_string()),
        (None, None) => {
            let manager = get("credentials_mgr_class").unwrap_or("no `pass` or `passx`");
            return Ok(Lookup::Unreadable {
                section: section.to_string(),
                reason: format!("its password is not in the file ({manager})"),
            });
        }
    }
    .map_err(|reason| OscrcError::Password {
        path: path.to_path_buf(),
        section: section.to_string(),
        reason,
    })?;
    Ok(Lookup::Found(OscCredentials {
        user: user.to_string(),
        password: Secret::new(password),
        section: section.to_string(),
    }))
}

fn normalise(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let path = if path.is_empty() {
                String::new()
            } else {
                format!("/{path}")
            };
            format!(
                "{}://{}{path}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase()
            )
        }
        None => url.to_string(),
    }
}

/// osc's `passx`: base64 of the bzip2-compressed password. The error never
/// holds the value.
fn decode_passx(passx: &str) -> Result<String, String> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(passx.trim())
        .map_err(|_| "`passx` is not base64".to_string())?;
    let mut password = String::new();
    bzip2::read::BzDecoder::new(&compressed[..])
        .take(64 * 1024)
        .read_to_string(&mut password)
        .map_err(|_| "`passx` is not bzip2-compressed text".to_string())?;
    Ok(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_match_without_trailing_slash_or_case() {
        assert_eq!(
            normalise("HTTPS://API.openSUSE.org/"),
            normalise("https://api.opensuse.org")
        );
        assert_ne!(
            normalise("https://api.opensuse.org"),
            normalise("https://api.suse.de")
        );
    }

    #[test]
    fn a_bad_passx_is_an_error_without_the_value() {
        let error = decode_passx("not base64 at all!").unwrap_err();
        assert!(!error.contains("not base64 at all"), "{error}");
        assert!(decode_passx("aGVsbG8=").is_err(), "base64 but not bzip2");
    }
}
