//! pkgsync: mirror OBS-built rpm and deb packages into a Packagecloud repository,
//! Terraform style (plan, review, apply). See ARCHITECTURE.md for the map.

pub mod config;
pub mod http;
pub mod model;
pub mod obs;
pub mod packagecloud;
pub mod pkgmeta;
pub mod plan;
pub mod sandbox;
