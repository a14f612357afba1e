//! The Packagecloud target: API client, JSON types and the distribution index.

pub mod client;
pub mod distributions;
mod listing;
mod promote;
pub mod types;
mod upload;

pub use client::{
    DeleteOutcome, PAGE_CONCURRENCY, PackagecloudClient, PackagecloudError, UploadOutcome,
};
pub use distributions::{DistroError, DistroIndex};
