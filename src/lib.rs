//! pkgsync: mirror OBS-built rpm and deb packages into a Packagecloud repository,
//! Terraform style (plan, review, apply). See ARCHITECTURE.md for the map.

pub mod model;
pub mod pkgmeta;
pub mod sandbox;
