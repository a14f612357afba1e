//! `primary.xml`: every package of an rpm-md repository, read as a stream (one
//! package in memory at a time, whatever the size of the file).

use super::repomd::attribute;
use quick_xml::events::Event;
use std::io::BufRead;

/// One `<package type="rpm">` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    pub name: String,
    pub arch: String,
    /// `version@ver` and `version@rel`.
    pub version: String,
    pub release: String,
    /// `location@href` (may hold subdirectories), and `location@xml:base`.
    pub href: String,
    pub base: Option<String>,
    /// `(type, lowercase hex)` as listed: `sha256`, or `sha1`/`sha512` in some
    /// repositories.
    pub checksum: (String, String),
    /// `size@package`: the rpm file's size.
    pub size: u64,
}

impl Package {
    /// The name Packagecloud stores it under: `N-V-R.A.rpm` (no epoch).
    pub fn canonical_filename(&self) -> String {
        format!(
            "{}-{}-{}.{}.rpm",
            self.name, self.version, self.release, self.arch
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrimaryError {
    #[error("not well-formed XML at byte {position}: {detail}")]
    Xml { position: u64, detail: String },
    #[error("package {index} (`{name}`) lacks {what}")]
    Incomplete {
        index: usize,
        name: String,
        what: &'static str,
    },
    #[error("the root element is `{0}`, not `metadata`")]
    WrongRoot(String),
    #[error("it says it lists {said} packages but lists {found}")]
    Count { said: usize, found: usize },
    #[error("it ends before `</metadata>`: cut short")]
    Truncated,
}

/// Calls `each` for every package, in order. The file must be whole: a missing
/// end tag or a package count that does not match `packages="N"` is an error.
pub fn read(
    input: impl BufRead,
    mut each: impl FnMut(Package) -> Result<(), PrimaryError>,
) -> Result<usize, PrimaryError> {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut buf = Vec::new();
    let mut state = State::default();
    loop {
        let position = reader.buffer_position();
        let xml = |detail: String| PrimaryError::Xml { position, detail };
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml(e.to_string()))?;
        match event {
            Event::Start(e) => state.start(&e)?,
            Event::Empty(e) => {
                if let Some(package) = state.current.as_mut() {
                    fill_from_attributes(package, e.local_name().as_ref(), &e);
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| xml(e.to_string()))?;
                state.text(&text);
            }
            Event::GeneralRef(r) => {
                // Names may hold `&amp;` and friends; only the predefined ones exist here.
                let name = String::from_utf8_lossy(&r);
                if let Some(c) = quick_xml::escape::resolve_predefined_entity(&name) {
                    state.text(c);
                }
            }
            Event::End(_) => {
                if let Some(package) = state.end()? {
                    each(package)?;
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    state.finish()
}

/// Where the reader is: the open elements, the package being read, and what
/// the root said and what was found.
#[derive(Default)]
struct State {
    path: Vec<Vec<u8>>,
    current: Option<Package>,
    said: Option<usize>,
    found: usize,
    closed: bool,
}

impl State {
    fn start(&mut self, e: &quick_xml::events::BytesStart<'_>) -> Result<(), PrimaryError> {
        let name = e.local_name().as_ref().to_vec();
        if self.path.is_empty() {
            if name != b"metadata" {
                return Err(PrimaryError::WrongRoot(
                    String::from_utf8_lossy(&name).into_owned(),
                ));
            }
            self.said = attribute(e, "packages").and_then(|n| n.parse().ok());
        }
        if self.path.len() == 1 && name == b"package" {
            self.current = Some(Package::default());
        }
        if let Some(package) = self.current.as_mut() {
            fill_from_attributes(package, &name, e);
        }
        self.path.push(name);
        Ok(())
    }

    /// Text (or a resolved entity) inside a package's `name`, `arch` or
    /// `checksum`.
    fn text(&mut self, text: &str) {
        let (Some(package), 3) = (self.current.as_mut(), self.path.len()) else {
            return;
        };
        match self.path[2].as_slice() {
            b"name" => package.name.push_str(text.trim()),
            b"arch" => package.arch.push_str(text.trim()),
            b"checksum" => package
                .checksum
                .1
                .push_str(&text.trim().to_ascii_lowercase()),
            _ => {}
        }
    }

    /// Closes an element; a finished package, checked, when it was one.
    fn end(&mut self) -> Result<Option<Package>, PrimaryError> {
        let name = self.path.pop();
        if self.path.is_empty() {
            self.closed = true;
        }
        if self.path.len() != 1 || name.as_deref() != Some(b"package") {
            return Ok(None);
        }
        let package = self.current.take().expect("a package was started");
        check(&package, self.found)?;
        self.found += 1;
        Ok(Some(package))
    }

    fn finish(self) -> Result<usize, PrimaryError> {
        if !self.closed {
            return Err(PrimaryError::Truncated);
        }
        match self.said {
            Some(said) if said != self.found => Err(PrimaryError::Count {
                said,
                found: self.found,
            }),
            _ => Ok(self.found),
        }
    }
}

fn fill_from_attributes(package: &mut Package, name: &[u8], e: &quick_xml::events::BytesStart<'_>) {
    match name {
        b"location" => {
            package.href = attribute(e, "href").unwrap_or_default();
            package.base = attribute(e, "base");
        }
        b"version" => {
            package.version = attribute(e, "ver").unwrap_or_default();
            package.release = attribute(e, "rel").unwrap_or_default();
        }
        b"size" => {
            package.size = attribute(e, "package")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        }
        b"checksum" => {
            package.checksum.0 = attribute(e, "type")
                .unwrap_or_default()
                .to_ascii_lowercase()
        }
        _ => {}
    }
}

fn check(package: &Package, index: usize) -> Result<(), PrimaryError> {
    let missing = if package.href.is_empty() {
        Some("a `location`")
    } else if package.checksum.1.is_empty() || package.checksum.0.is_empty() {
        Some("a `checksum`")
    } else if package.size == 0 {
        Some("a `size package`")
    } else {
        None
    };
    match missing {
        Some(what) => Err(PrimaryError::Incomplete {
            index,
            name: package.name.clone(),
            what,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/rpm-md/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn reads_every_package_of_real_createrepo_output() {
        let mut packages = Vec::new();
        let count = read(&fixture("hello-obs/primary.xml")[..], |p| {
            packages.push(p);
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 2);
        let noarch = packages.iter().find(|p| p.arch == "noarch").unwrap();
        assert_eq!(noarch.name, "hello-obs");
        assert_eq!(noarch.href, "noarch/hello-obs-1.0-1.1.noarch.rpm");
        assert_eq!(noarch.size, 6266);
        assert_eq!(noarch.checksum.0, "sha256");
        assert!(noarch.checksum.1.starts_with("96cefc65"));
    }

    #[test]
    fn a_cut_file_or_a_wrong_count_is_an_error() {
        let whole = fixture("hello-obs/primary.xml");
        let cut = &whole[..whole.len() - 40];
        assert!(matches!(
            read(cut, |_| Ok(())),
            Err(PrimaryError::Truncated | PrimaryError::Xml { .. })
        ));
        let text = String::from_utf8(whole.clone()).unwrap();
        let lying = text.replace("packages=\"2\"", "packages=\"3\"");
        assert!(matches!(
            read(lying.as_bytes(), |_| Ok(())),
            Err(PrimaryError::Count { said: 3, found: 2 })
        ));
    }
}
