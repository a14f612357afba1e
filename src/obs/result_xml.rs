//! `_result` read as a stream of XML events, so that memory holds what the
//! inventory needs (the package files of each build area) and never the body:
//! the largest real projects answer with several GiB. The same checks as
//! [`super::xml::parse`]: one `<resultlist>` and nothing after it.

use super::xml::{
    Binary, BinaryList, PackageStatus, ParseError, RepositoryResult, ResultList, keep_binary,
};
use quick_xml::events::{BytesStart, Event};
use std::io::BufRead;

const ROOT: &str = "resultlist";

/// Reads a whole `_result` document from `input`.
pub fn read_result_list(input: &mut dyn BufRead) -> Result<ResultList, ParseError> {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut buf = Vec::new();
    let mut list: Option<ResultList> = None;
    let mut closed = false;
    // Open elements below the root: 1 in a <result>, 2 in its children, ...
    let mut depth = 0usize;
    loop {
        buf.clear();
        let event = reader.read_event_into(&mut buf)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) if list.is_none() || closed => {
                if closed {
                    return Err(ParseError::TrailingContent(ROOT));
                }
                let found = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if found != ROOT {
                    return Err(ParseError::WrongRoot {
                        expected: ROOT,
                        found,
                    });
                }
                list = Some(ResultList {
                    state: attribute(&reader, e, "state")?,
                    results: Vec::new(),
                });
                closed = matches!(event, Event::Empty(_));
            }
            Event::Start(ref e) => {
                let results = &mut list.as_mut().expect("inside the root").results;
                element(&reader, e, depth, results)?;
                depth += 1;
            }
            Event::Empty(ref e) => {
                let results = &mut list.as_mut().expect("inside the root").results;
                element(&reader, e, depth, results)?;
            }
            Event::End(_) if depth == 0 => closed = true,
            Event::End(_) => depth -= 1,
            Event::Text(ref t)
                if (list.is_none() || closed) && !t.iter().all(u8::is_ascii_whitespace) =>
            {
                return Err(outside(closed));
            }
            Event::CData(_) | Event::GeneralRef(_) if list.is_none() || closed => {
                return Err(outside(closed));
            }
            Event::Eof if list.is_some() && !closed => {
                return Err(ParseError::Syntax(quick_xml::Error::IllFormed(
                    quick_xml::errors::IllFormedError::MissingEndTag(ROOT.to_string()),
                )));
            }
            Event::Eof => return list.ok_or(ParseError::Empty),
            _ => {}
        }
    }
}

fn outside(closed: bool) -> ParseError {
    if closed {
        ParseError::TrailingContent(ROOT)
    } else {
        ParseError::NotXml
    }
}

/// One element below the root at `depth`: a `<result>`, a `<status>` or
/// `<binarylist>` of the last result, a `<binary>` of its last list. Anything
/// else is ignored, as OBS adds elements over time.
fn element<R>(
    reader: &quick_xml::Reader<R>,
    e: &BytesStart<'_>,
    depth: usize,
    results: &mut Vec<RepositoryResult>,
) -> Result<(), ParseError> {
    let name = e.name();
    match (depth, name.as_ref()) {
        (0, b"result") => results.push(RepositoryResult {
            project: required(reader, e, "result", "project")?,
            repository: required(reader, e, "result", "repository")?,
            arch: required(reader, e, "result", "arch")?,
            code: attribute(reader, e, "code")?,
            state: attribute(reader, e, "state")?,
            dirty: attribute(reader, e, "dirty")?,
            statuses: Vec::new(),
            binarylists: Vec::new(),
        }),
        (1, b"status") => last(results)?.statuses.push(PackageStatus {
            package: required(reader, e, "status", "package")?,
            code: required(reader, e, "status", "code")?,
        }),
        (1, b"binarylist") => {
            let list = BinaryList {
                package: attribute(reader, e, "package")?,
                binaries: Vec::new(),
            };
            if let Some(previous) = last(results)?.binarylists.last_mut() {
                previous.binaries.shrink_to_fit();
            }
            last(results)?.binarylists.push(list);
        }
        (2, b"binary") => {
            let binary = Binary {
                filename: required(reader, e, "binary", "filename")?,
                size: number(reader, e, "size")?,
                mtime: number(reader, e, "mtime")?,
                md5: attribute(reader, e, "md5")?,
            };
            // Only a `<binary>` of a `<binarylist>`; one elsewhere is ignored.
            if let Some(list) = results.last_mut().and_then(|r| r.binarylists.last_mut())
                && keep_binary(&binary)
            {
                list.binaries.push(binary);
            }
        }
        _ => {}
    }
    Ok(())
}

fn last(results: &mut [RepositoryResult]) -> Result<&mut RepositoryResult, ParseError> {
    results.last_mut().ok_or_else(|| ParseError::Field {
        root: ROOT,
        message: "an element outside any `<result>`".into(),
    })
}

fn attribute<R>(
    reader: &quick_xml::Reader<R>,
    e: &BytesStart<'_>,
    name: &str,
) -> Result<Option<String>, ParseError> {
    let found = e.try_get_attribute(name).map_err(quick_xml::Error::from)?;
    found
        .map(|a| {
            a.decode_and_unescape_value(reader.decoder())
                .map(|v| v.into_owned())
                .map_err(ParseError::from)
        })
        .transpose()
}

fn required<R>(
    reader: &quick_xml::Reader<R>,
    e: &BytesStart<'_>,
    element: &str,
    name: &str,
) -> Result<String, ParseError> {
    attribute(reader, e, name)?.ok_or_else(|| ParseError::Field {
        root: ROOT,
        message: format!("a `<{element}>` without `{name}`"),
    })
}

fn number<R>(
    reader: &quick_xml::Reader<R>,
    e: &BytesStart<'_>,
    name: &str,
) -> Result<u64, ParseError> {
    let value = required(reader, e, "binary", name)?;
    value.parse().map_err(|_| ParseError::Field {
        root: ROOT,
        message: format!("a `<binary>` whose `{name}` is not a number"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::obs::xml::parse;

    fn stream(xml: &str) -> Result<ResultList, ParseError> {
        read_result_list(&mut xml.as_bytes())
    }

    #[test]
    fn reads_real_results_as_the_whole_document_parser_does() {
        for name in ["result-binarylist.xml", "result-multibuild.xml"] {
            let path = format!(
                "{}/tests/fixtures/obs-responses/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            let xml = std::fs::read_to_string(&path).unwrap();
            let whole: ResultList = parse(&xml).unwrap();
            assert!(!whole.results.is_empty(), "{name}");
            assert_eq!(stream(&xml).unwrap(), whole, "{name}");
        }
    }

    #[test]
    fn only_a_whole_result_list_is_accepted() {
        let reject = |xml: &str| stream(xml).unwrap_err().to_string();
        assert_eq!(reject(" \n"), "the answer is empty");
        assert_eq!(reject("Service Unavailable"), "the answer is text, not XML");
        assert_eq!(
            reject("<html><body>maintenance</body></html>"),
            "the answer is a `<html>` document, not `<resultlist>`"
        );
        assert!(
            reject("<resultlist>\n  <result project=\"p\" repository=\"r\" arch=\"a\">")
                .contains("well-formed")
        );
        assert!(reject("<resultlist/>\n<resultlist/>").contains("goes on after"));
        assert!(reject("<resultlist/>\ntrailing").contains("goes on after"));
        assert!(
            reject("<resultlist><result project=\"p\" repository=\"r\" arch=\"a\"><binarylist package=\"x\"><binary filename=\"x-1-1.noarch.rpm\" size=\"big\" mtime=\"1\"/></binarylist></result></resultlist>")
                .contains("`size` is not a number")
        );
        assert!(
            reject("<resultlist><result repository=\"r\" arch=\"a\"/></resultlist>")
                .contains("without `project`")
        );
        let ok =
            stream("<?xml version=\"1.0\"?>\n<!-- c -->\n<resultlist state=\"s\" />\n").unwrap();
        assert_eq!(ok.state.as_deref(), Some("s"));
    }
}
