//! JSON documents of the Packagecloud API v1 that pkgsync reads. Unknown fields are
//! ignored and optional ones tolerated: the API grew fields over the years.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One element of a package listing (`packages.json`, `search.json`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PackageFragment {
    pub filename: String,
    pub distro_version: String,
    #[serde(rename = "type", default)]
    pub package_type: Option<String>,
    #[serde(default)]
    pub sha256sum: Option<String>,
    #[serde(default)]
    pub package_url: Option<String>,
}

/// A package's details (also the 201 body of an upload).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PackageDetails {
    pub filename: String,
    #[serde(default)]
    pub distro_version: Option<String>,
    /// Bytes, as a string (`"3712"`).
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub md5sum: Option<String>,
    #[serde(default)]
    pub sha256sum: Option<String>,
    /// Absolute: where package managers download it.
    #[serde(default)]
    pub download_url: Option<String>,
    /// Site-relative: the promote call of this package.
    #[serde(default)]
    pub promote_url: Option<String>,
}

/// `GET /api/v1/distributions.json`: package type → distributions.
pub type Distributions = BTreeMap<String, Vec<Distribution>>;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Distribution {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub index_name: Option<String>,
    #[serde(default)]
    pub versions: Vec<DistroVersion>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct DistroVersion {
    pub id: u64,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub index_name: Option<String>,
    #[serde(default)]
    pub version_number: Option<String>,
}

/// A 422 body: field → messages.
pub type ValidationErrors = BTreeMap<String, Vec<String>>;
