//! XML documents the OBS emulator sends, written with quick-xml (escaping is the
//! writer's job). Backend documents use 2-space indentation and no declaration,
//! like the Perl backend; element and attribute order follow the OBS schemas.

use quick_xml::Writer;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};
use std::io;

pub(crate) type Xml = Writer<Vec<u8>>;

/// Runs `write` against a fresh writer and returns the document with a final newline.
pub(crate) fn document(write: impl FnOnce(&mut Xml) -> io::Result<()>) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail; an error would only truncate the document.
    let _ = write(&mut writer);
    let mut text = String::from_utf8_lossy(&writer.into_inner()).into_owned();
    text.push('\n');
    text
}

/// A start tag with escaped attributes. Tabs and line breaks become character
/// references: written raw, a conforming parser would read them as spaces, and a
/// file name with a line break would arrive as another name.
fn start_tag<'a>(name: &'a str, attrs: &[(&str, &str)]) -> BytesStart<'a> {
    let mut start = BytesStart::new(name);
    for (k, v) in attrs {
        let value = quick_xml::escape::escape(*v)
            .replace('\t', "&#9;")
            .replace('\n', "&#10;")
            .replace('\r', "&#13;");
        start.push_attribute(Attribute::from((k.as_bytes(), value.as_bytes())));
    }
    start
}

/// `<name a="1" b="2" />`
pub(crate) fn empty(w: &mut Xml, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
    w.write_event(Event::Empty(start_tag(name, attrs)))
}

/// `<name a="1">` … `</name>` around whatever `inner` writes.
pub(crate) fn element(
    w: &mut Xml,
    name: &str,
    attrs: &[(&str, &str)],
    inner: impl FnOnce(&mut Xml) -> io::Result<()>,
) -> io::Result<()> {
    w.write_event(Event::Start(start_tag(name, attrs)))?;
    inner(w)?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// `<name>text</name>`
pub(crate) fn text(w: &mut Xml, name: &str, value: &str) -> io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))?;
    // Escape only what text needs (`<`, `>`, `&`), like the backend: quotes stay.
    let escaped = quick_xml::escape::partial_escape(value);
    w.write_event(Event::Text(BytesText::from_escaped(escaped)))?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// An element that becomes `<name ... />` when `children` is empty.
pub(crate) fn list<T>(
    w: &mut Xml,
    name: &str,
    attrs: &[(&str, &str)],
    children: &[T],
    mut child: impl FnMut(&mut Xml, &T) -> io::Result<()>,
) -> io::Result<()> {
    if children.is_empty() {
        return empty(w, name, attrs);
    }
    element(w, name, attrs, |w| {
        children.iter().try_for_each(|c| child(w, c))
    })
}

/// `<status code="..."><summary>..</summary>[<details>..</details>]</status>`, the
/// error shape of both the Rails API (string codes) and the backend (numeric codes).
pub(crate) fn status_document(code: &str, summary: &str, details: Option<&str>) -> String {
    document(|w| {
        element(w, "status", &[("code", code)], |w| {
            text(w, "summary", summary)?;
            match details {
                Some(details) => text(w, "details", details),
                None => Ok(()),
            }
        })
    })
}

/// `<directory>` with `<entry name=".." [originpackage=".."] />` children.
pub(crate) fn directory(entries: &[(String, Option<String>)], count: Option<usize>) -> String {
    let count = count.map(|c| c.to_string());
    let attrs: Vec<(&str, &str)> = count.iter().map(|c| ("count", c.as_str())).collect();
    document(|w| {
        list(
            w,
            "directory",
            &attrs,
            entries,
            |w, (name, origin)| match origin {
                Some(origin) => empty(w, "entry", &[("name", name), ("originpackage", origin)]),
                None => empty(w, "entry", &[("name", name)]),
            },
        )
    })
}

/// One `<binary>` of a binary list.
#[derive(Debug, Clone)]
pub(crate) struct BinaryEntry {
    pub filename: String,
    pub md5: Option<String>,
    pub size: u64,
    pub mtime: u64,
}

/// `<binarylist [package=".."]>` with `<binary filename [md5] size mtime />`.
pub(crate) fn write_binarylist(
    w: &mut Xml,
    package: Option<&str>,
    binaries: &[BinaryEntry],
) -> io::Result<()> {
    let attrs: Vec<(&str, &str)> = package.iter().map(|p| ("package", *p)).collect();
    list(w, "binarylist", &attrs, binaries, |w, b| {
        let size = b.size.to_string();
        let mtime = b.mtime.to_string();
        let mut attrs = vec![("filename", b.filename.as_str())];
        if let Some(md5) = &b.md5 {
            attrs.push(("md5", md5));
        }
        attrs.push(("size", &size));
        attrs.push(("mtime", &mtime));
        empty(w, "binary", &attrs)
    })
}
