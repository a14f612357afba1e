//! Text from outside in front of a person: names escaped for the terminal and for
//! markdown, URLs with their credentials masked.
//!
//! Every name from OBS or Packagecloud and every URL that reaches a message, a
//! rendering or a log goes through here. A name is never trusted to be plain:
//! an ESC or CR in a stored filename could repaint a terminal line, a newline or
//! `|` could forge a table row, a bidi override could show `gpj.exe` as `exe.jpg`.

use std::borrow::Cow;
use std::fmt;

/// Bidirectional formatting characters: embeddings, overrides, isolates and marks.
/// They are not control characters to Rust, but they reorder what a reader sees.
fn is_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Whether `c` changes how text around it is displayed instead of showing itself.
pub fn is_invisible_control(c: char) -> bool {
    c.is_control() || is_bidi(c)
}

/// A name for terminal text: control and bidi characters as `\u{..}` escapes
/// (the backslash itself too, so an escape cannot be faked).
pub fn text(name: &str) -> Cow<'_, str> {
    if !name.chars().any(|c| is_invisible_control(c) || c == '\\') {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    if is_invisible_control(c) || c == '\\' {
        out.push_str(&format!("\\u{{{:x}}}", c as u32));
    } else {
        out.push(c);
    }
}

/// A name for a markdown table cell or code span: as [`text`], and also `|`
/// (as `\|`, which GitHub's tables read as a pipe even in a code span), backticks
/// and `<` escaped, so it can neither end the cell or span nor open HTML.
pub fn markdown(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' | '<' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => push_escaped(&mut out, c),
        }
    }
    out
}

/// A URL as it may be shown: user info (`user:password@`) masked when displayed,
/// whether or not the rest parses. The full URL stays inside for requests.
#[derive(Clone, PartialEq, Eq)]
pub struct ShownUrl(String);

impl ShownUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL as given, credentials included: for requests, never for messages.
    pub fn as_request_url(&self) -> &str {
        &self.0
    }

    /// Whether the URL may carry user info: the parsed URL has a user or a
    /// password, or (parsed or not) an `@` comes before any query or fragment.
    /// Deliberately wide: an API base URL has no reason to hold an `@`.
    pub fn has_credentials(&self) -> bool {
        let parsed = url::Url::parse(&self.0).ok();
        parsed.is_some_and(|u| !u.username().is_empty() || u.password().is_some())
            || self
                .0
                .split(['?', '#'])
                .next()
                .is_some_and(|s| s.contains('@'))
    }
}

impl fmt::Display for ShownUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match url::Url::parse(&self.0) {
            Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
                let _ = parsed.set_username("***");
                let _ = parsed.set_password(None);
                Cow::Owned(parsed.to_string())
            }
            Ok(_) => Cow::Borrowed(self.0.as_str()),
            // Unparsable: everything up to the last `@` may be a secret.
            Err(_) => match self.0.rfind('@') {
                Some(at) => {
                    let start = self.0.find(':').map_or(0, |i| i + 1);
                    let start = start.min(at);
                    Cow::Owned(format!("{}***{}", &self.0[..start], &self.0[at..]))
                }
                None => Cow::Borrowed(self.0.as_str()),
            },
        };
        f.write_str(&text(&shown))
    }
}

impl fmt::Debug for ShownUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShownUrl({self})")
    }
}

/// An error and its causes on one line, for the journal, summaries and checks.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_escapes_what_would_repaint_or_reorder() {
        assert_eq!(text("hello-1.0.rpm"), "hello-1.0.rpm");
        let shown = text("a\u{1b}[2K\rb\nc\u{202e}d\\e");
        assert_eq!(shown, "a\\u{1b}[2K\\u{d}b\\u{a}c\\u{202e}d\\u{5c}e");
        assert!(!shown.chars().any(is_invisible_control));
    }

    #[test]
    fn markdown_cells_cannot_be_left() {
        let shown = markdown("x| `y` |<img>\n| forged |");
        assert!(!shown.contains(['`', '<', '\n']), "{shown}");
        assert_eq!(shown.matches('|').count(), shown.matches("\\|").count());
    }

    #[test]
    fn urls_are_shown_without_credentials_even_when_they_do_not_parse() {
        for url in [
            "https://user:PASS@example.com/a?b=c",
            "http://user:PASS@host:notaport",
            "ftp://user:PASS@host/",
            "http://PASS@host",
            "http://us@er:PASS@host/x@y",
            "https:user:PASS@host",
            "https:\\\\user:PASS@host",
            "https:///user:PASS@host",
            "https://bot:se/PASS@host",
        ] {
            let shown = ShownUrl::new(url);
            assert!(!shown.to_string().contains("PASS"), "{url} → {shown}");
            assert!(shown.has_credentials(), "{url}");
        }
        let plain = ShownUrl::new("https://example.com/api?q=a@b");
        assert_eq!(plain.to_string(), "https://example.com/api?q=a@b");
        assert!(!plain.has_credentials());
        // An `@` in the path is shown as it is, but counts as possible user info.
        let path = ShownUrl::new("https://bot:1234/x@host");
        assert!(path.has_credentials());
    }
}
