//! Debian control-file stanzas (RFC 822 style, as in `Release` and
//! `Packages`): `Field: value` lines, continuation lines starting with a space
//! or tab, stanzas separated by blank lines. Read as a stream, one stanza in
//! memory at a time. Field names compare case-insensitively, as dpkg's do.

use std::io::BufRead;

/// One stanza: its fields in order, values with continuation lines joined by
/// `\n` (the leading space removed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stanza {
    fields: Vec<(String, String)>,
}

impl Stanza {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
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

/// Calls `each` for every stanza, in order.
pub fn read<E: From<StanzaError>>(
    mut input: impl BufRead,
    mut each: impl FnMut(Stanza) -> Result<(), E>,
) -> Result<usize, E> {
    let mut stanza = Stanza::default();
    let mut line = String::new();
    let mut number = 0usize;
    let mut count = 0usize;
    loop {
        line.clear();
        let read = input.read_line(&mut line).map_err(StanzaError::from)?;
        number += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        if read == 0 || text.trim().is_empty() {
            if !stanza.is_empty() {
                count += 1;
                each(std::mem::take(&mut stanza))?;
            }
            if read == 0 {
                return Ok(count);
            }
            continue;
        }
        if text.starts_with('#') {
            continue;
        }
        if text.starts_with([' ', '\t']) {
            let Some((_, value)) = stanza.fields.last_mut() else {
                return Err(StanzaError::Syntax {
                    line: number,
                    detail: "a continuation line before any field".into(),
                }
                .into());
            };
            if !value.is_empty() {
                value.push('\n');
            }
            value.push_str(text[1..].trim_end());
            continue;
        }
        let Some((name, value)) = text.split_once(':') else {
            return Err(StanzaError::Syntax {
                line: number,
                detail: format!("`{}` is no `Field: value` line", crate::display::text(text)),
            }
            .into());
        };
        stanza
            .fields
            .push((name.trim().to_string(), value.trim().to_string()));
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
}
