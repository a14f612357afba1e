//! Reads name, version, release and arch from rpm and deb files.
