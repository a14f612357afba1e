//! In-process emulators of the OBS and Packagecloud APIs.
pub mod packages;
