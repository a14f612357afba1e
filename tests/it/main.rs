//! The integration tests, one binary so that the product is linked once.
//!
//! Each module is one area; test names start with their module, so a filter
//! picks an area: `cargo test --test it -- workflow::`. Two areas are slow and
//! `#[ignore]`d, so a plain `cargo test` leaves them out: `real_obs` (installs
//! and starts the real OBS backend) and the benchmarks `bench_*` (they print
//! figures and run one at a time so that their timings are not disturbed).
//! `./tests/run` runs them explicitly, `./tests/run --fast` does not;
//! `real_obs_replay` (the backend's recorded answers) is never ignored.

mod support;

mod apply_check;
mod apply_faults;
mod architecture;
mod bench_memory;
mod bench_published;
mod bench_scale;
mod compose_source;
mod config;
mod deb_source;
mod decompression_bombs;
mod delete_safety;
mod freshness;
mod gbs_mirror;
mod gbs_source;
mod hostile_sources;
mod listed_packages;
mod obs_source;
mod operator;
mod packagecloud_client;
mod plan_properties;
mod plan_render;
mod private_repositories;
mod promotion;
mod real_obs;
mod real_obs_replay;
mod reliability;
mod rpmmd_checksums;
mod rpmmd_source;
mod sandbox_emulators;
mod signed_published;
mod workflow;
