//! Generates real, installable-looking rpm and deb files in process, so the
//! emulators and tests work with packages whose headers say what their names say.
//!
//! Output is deterministic: the same inputs give the same bytes (fixed source date
//! for rpm, fixed mtimes and owners in every tar and ar member, gzip without a
//! timestamp). Source rpms are made by rewriting a binary rpm's header the way
//! rpmbuild marks a source package (the `rpm` crate cannot build one directly):
//! SOURCERPM is removed, SOURCEPACKAGE is added, the lead says "source", and the
//! signature digests are recomputed.
//!
//! `rpm_file` builds rpms, finished by `rpm_header`'s rewriting; `deb_file`
//! builds debs.

mod deb_file;
mod rpm_file;
mod rpm_header;

pub use deb_file::build_deb;
pub use rpm_file::{build_rpm, build_src_rpm};

/// Every generated file claims this build time (2023-11-14T22:13:20Z).
pub const SOURCE_DATE: u32 = 1_700_000_000;

/// A file to put in a package: absolute install path and contents.
pub type FileSpec<'a> = (&'a str, &'a [u8]);

/// A small rpm with one file naming the package, for tests that need many.
pub fn simple_rpm(name: &str, version: &str, release: &str, arch: &str) -> anyhow::Result<Vec<u8>> {
    let path = format!("/usr/share/{name}/VERSION");
    let contents = format!("{name} {version}-{release} {arch}\n");
    build_rpm(
        name,
        version,
        release,
        arch,
        &[(&path, contents.as_bytes())],
    )
}

/// A small deb with one file naming the package, for tests that need many.
pub fn simple_deb(name: &str, version: &str, arch: &str) -> anyhow::Result<Vec<u8>> {
    let path = format!("/usr/share/{name}/VERSION");
    let contents = format!("{name} {version} {arch}\n");
    build_deb(name, version, arch, &[(&path, contents.as_bytes())])
}

/// What the tests package.
#[cfg(test)]
const FILES: &[FileSpec<'static>] = &[
    ("/usr/bin/hello", b"#!/bin/sh\necho hello\n"),
    ("/usr/share/doc/hello/README", b"hello\n"),
];
