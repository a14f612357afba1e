//! Debian control-file stanzas (RFC 822 style, as in `Release` and
//! `Packages`): `Field: value` lines, continuation lines starting with a space
//! or tab, stanzas separated by blank lines. Read as a stream, one stanza in
//! memory at a time. Field names compare case-insensitively, as dpkg's do.
//! Values are bytes: a field pkgsync does not use (a Latin-1 `Maintainer`, a
//! `Description` in another encoding) may hold any, as apt allows; one it
//! reads must be UTF-8 (`text`).

use std::io::{BufRead, Read};

/// One stanza: its fields in order, values with continuation lines joined by
/// `\n` (the leading space removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stanza {
    fields: Vec<(String, Vec<u8>)>,
}

/// A field pkgsync reads holds bytes that are not UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("its `{0}` is not valid UTF-8")]
pub struct NotText(pub String);

impl Stanza {
    /// The value of `name`, when present and UTF-8 (else absent: use `text`
    /// where the difference matters).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.text(name).ok().flatten()
    }

    /// The value of `name` if present; an error if it is not UTF-8.
    pub fn text(&self, name: &str) -> Result<Option<&str>, NotText> {
        let Some((field, value)) = self
            .fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        else {
            return Ok(None);
        };
        std::str::from_utf8(value)
            .map(Some)
            .map_err(|_| NotText(field.clone()))
    }

    fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StanzaError {
    #[error("line {line}: {detail}")]
    Syntax { line: usize, detail: String },
    #[error("cannot read it: {0}")]
    Read(#[from] std::io::Error),
}

/// Longer lines, or stanzas, are no index's: refused before they are held.
const MAX_LINE: usize = 1 << 20;
const MAX_STANZA: usize = 8 << 20;

/// Calls `each` for every stanza, in order.
pub fn read<E: From<StanzaError>>(
    mut input: impl BufRead,
    mut each: impl FnMut(Stanza) -> Result<(), E>,
) -> Result<usize, E> {
    let mut stanza = Stanza::default();
    let mut line = Vec::new();
    let mut number = 0usize;
    let mut count = 0usize;
    let mut held = 0usize;
    loop {
        line.clear();
        let read = (&mut input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(StanzaError::from)?;
        number += 1;
        held += read;
        if line.len() > MAX_LINE || held > MAX_STANZA {
            let limit = if line.len() > MAX_LINE {
                "a line"
            } else {
                "a stanza"
            };
            return Err(StanzaError::Syntax {
                line: number,
                detail: format!("{limit} longer than any index holds ({MAX_LINE} bytes a line, {MAX_STANZA} a stanza); refused"),
            }
            .into());
        }
        let text = line.trim_ascii_end();
        if read == 0 || text.trim_ascii().is_empty() {
            if !stanza.is_empty() {
                count += 1;
                each(std::mem::take(&mut stanza))?;
            }
            held = 0;
            if read == 0 {
                return Ok(count);
            }
            continue;
        }
        if text.starts_with(b"#") {
            continue;
        }
        if text.starts_with(b" ") || text.starts_with(b"\t") {
            let Some((_, value)) = stanza.fields.last_mut() else {
                return Err(StanzaError::Syntax {
                    line: number,
                    detail: "a continuation line before any field".into(),
                }
                .into());
            };
            if !value.is_empty() {
                value.push(b'\n');
            }
            value.extend_from_slice(text[1..].trim_ascii_end());
            continue;
        }
        let Some(colon) = text.iter().position(|&b| b == b':') else {
            let lossy = String::from_utf8_lossy(text);
            let shown: String = crate::display::text(&lossy).chars().take(80).collect();
            return Err(StanzaError::Syntax {
                line: number,
                detail: format!("`{shown}` is no `Field: value` line"),
            }
            .into());
        };
        let name = String::from_utf8_lossy(text[..colon].trim_ascii()).into_owned();
        let value = text[colon + 1..].trim_ascii().to_vec();
        stanza.fields.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_continuations_and_blank_lines() {
        let text = "Package: a\nDescription: one\n two\n .\n\n\nPackage: b\r\nSize: 3\n";
        let mut stanzas = Vec::new();
        read::<StanzaError>(text.as_bytes(), |s| {
            stanzas.push(s);
            Ok(())
        })
        .unwrap();
        assert_eq!(stanzas.len(), 2);
        assert_eq!(stanzas[0].get("description"), Some("one\ntwo\n."));
        assert_eq!(stanzas[1].get("SIZE"), Some("3"));
        let bad = read::<StanzaError>(" x\n".as_bytes(), |_| Ok(()));
        assert!(matches!(bad, Err(StanzaError::Syntax { line: 1, .. })));
    }

    #[test]
    fn fields_not_read_may_hold_any_bytes_and_read_ones_must_be_text() {
        let text = b"Package: a\nMaintainer: Jos\xe9 <j@example.org>\nDescription: x\n \xff\n";
        let mut stanzas = Vec::new();
        read::<StanzaError>(&text[..], |s| {
            stanzas.push(s);
            Ok(())
        })
        .unwrap();
        assert_eq!(stanzas[0].get("Package"), Some("a"));
        assert_eq!(
            stanzas[0].text("Maintainer"),
            Err(NotText("Maintainer".into()))
        );
        assert_eq!(stanzas[0].get("Maintainer"), None);
    }

    #[test]
    fn a_line_longer_than_any_index_holds_is_refused_without_being_held() {
        let endless = std::io::repeat(b'x').take(64 << 20);
        let error = read::<StanzaError>(std::io::BufReader::new(endless), |_| Ok(())).unwrap_err();
        assert!(
            error.to_string().contains("longer than any index"),
            "{error}"
        );
    }
}
