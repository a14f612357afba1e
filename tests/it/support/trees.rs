//! What the release-tree tests share: GBS sample trees written by
//! `createrepo_c` (on disk, or served over loopback HTTP), worlds whose config
//! reads them, and plan/apply by file name.

use super::{Run, World, install_tools, world_of};
use pkgsync::plan::Plan;
use pkgsync_sandbox::files::FileServer;
use pkgsync_sandbox::gbs::{Indexer, SampleBuild, point_latest};
use std::path::Path;

/// `root/<id>/` written by createrepo_c, and `root/latest` pointing at it.
pub fn tree(root: &Path, build: &SampleBuild) {
    install_tools(&["createrepo-c"]);
    build.write(root, Indexer::CreaterepoC).unwrap();
    point_latest(root, "latest", &build.id).unwrap();
}

/// A temporary directory holding the tree of `build`.
pub fn new_tree(build: &SampleBuild) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    tree(dir.path(), build);
    dir
}

/// The sample tree's repos into two Fedora versions.
pub const MAPPING: &str =
    "    mapping:\n      tizen-base: fedora/39\n      tizen-main: fedora/40\n";

/// A config of one GBS tree at `url`, with `mapping` and `more` keys.
pub fn world(url: &str, mapping: &str, more: &str) -> World {
    world_of(&format!("gbs:\n  - url: {url}\n{mapping}{more}"))
}

/// A directory served over loopback HTTP, until dropped.
pub struct Served {
    runtime: tokio::runtime::Runtime,
    server: Option<FileServer>,
}

impl Served {
    pub fn new(root: &Path) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(FileServer::start(root.to_path_buf()));
        Self {
            runtime,
            server: Some(server.unwrap()),
        }
    }

    pub fn server(&self) -> &FileServer {
        self.server.as_ref().unwrap()
    }

    pub fn latest(&self) -> String {
        format!("{}/latest", self.server().url())
    }

    pub fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A world whose sandbox serves `build` as its GBS tree, mapped by `mapping`.
pub fn sandbox_world(build: &SampleBuild, mapping: &str) -> World {
    let world = world_of("");
    let latest = world.sandbox().publish_gbs(build).unwrap();
    let rest = std::fs::read_to_string(&world.config).unwrap();
    let config = format!("gbs:\n  - url: {latest}\n{mapping}{rest}");
    std::fs::write(&world.config, config).unwrap();
    world
}

/// `plan --out <name>`, read back.
pub fn plan(world: &World, name: &str) -> Plan {
    pkgsync::plan::file::read(&world.plan_out(name)).unwrap()
}

/// `apply <name>` with the world's config.
pub fn apply(world: &World, name: &str) -> Run {
    let plan = world.path(name);
    world.pkgsync(&["apply", plan.to_str().unwrap(), "--config", world.config()])
}
