//! Credentials: a value whose `Debug` never shows it and which is never
//! serialised, handed only to the HTTP layer.

use serde::Deserialize;
use std::fmt;

/// A credential. `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The most a credential file (a netrc, a certificate, a key) may hold.
const MAX_CREDENTIAL_FILE: u64 = 1 << 20;

/// A credential file read whole, refused past 1 MiB or when it is not text.
pub fn read_bounded(path: &std::path::Path) -> std::io::Result<Secret> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_CREDENTIAL_FILE + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CREDENTIAL_FILE {
        return Err(std::io::Error::other("larger than 1 MiB"));
    }
    Ok(Secret(text))
}

/// The login and password a netrc file gives `host` (its `machine` entry,
/// else `default`), as curl and ftp read it: whitespace-separated tokens,
/// `macdef` bodies (up to a blank line) skipped.
pub fn netrc_entry(text: &str, host: &str) -> Option<(String, Secret)> {
    let mut tokens = Vec::new();
    let mut in_macro = false;
    for line in text.lines() {
        if in_macro {
            in_macro = !line.trim().is_empty();
            continue;
        }
        let mut words = line.split_whitespace();
        while let Some(word) = words.next() {
            if word == "macdef" {
                words.next();
                in_macro = true;
                break;
            }
            tokens.push(word);
        }
    }
    // (machine, or None for `default`; login; password)
    let mut entries: Vec<(Option<&str>, Option<&str>, Option<&str>)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let next = tokens.get(i + 1).copied();
        match (tokens[i], entries.last_mut()) {
            ("machine", _) => {
                entries.push((Some(next.unwrap_or_default()), None, None));
                i += 1;
            }
            ("default", _) => entries.push((None, None, None)),
            ("login", Some(entry)) => {
                entry.1 = next;
                i += 1;
            }
            ("password", Some(entry)) => {
                entry.2 = next;
                i += 1;
            }
            ("account", _) => i += 1,
            _ => {}
        }
        i += 1;
    }
    let machine = entries
        .iter()
        .find(|e| e.0.is_some_and(|m| m.eq_ignore_ascii_case(host)));
    match machine.or_else(|| entries.iter().find(|e| e.0.is_none())) {
        Some((_, Some(login), Some(password))) => {
            Some((login.to_string(), Secret(password.to_string())))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::netrc_entry;

    #[test]
    fn netrc_machine_then_default() {
        let text = "machine a.example login ua password pa\n\
                    macdef init\ncd /\n\n\
                    machine b.example\n  login ub\n  password pb\n\
                    default login ud password pd\n";
        let pick = |host| netrc_entry(text, host).map(|(u, p)| (u, p.expose().to_string()));
        assert_eq!(pick("b.example"), Some(("ub".into(), "pb".into())));
        assert_eq!(pick("A.example"), Some(("ua".into(), "pa".into())));
        assert_eq!(pick("c.example"), Some(("ud".into(), "pd".into())));
        assert_eq!(netrc_entry("machine a login x", "a"), None);
    }
}
