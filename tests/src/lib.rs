//! Test harness: real `r2com` processes in temporary data directories.
//!
//! ```no_run
//! use r2com_tests::{gen_dataset, TestNode};
//! let mut a = TestNode::init();
//! a.start();
//! a.ok(&["import", gen_dataset(20, 5, 1).to_str().unwrap()]);
//! let practices = a.json(&["practice", "list"]);
//! assert_eq!(practices.as_array().unwrap().len(), 20);
//! ```

//!
//! `node.rs` starts, stops and kills a node's process; `cli.rs` runs the
//! CLI against it (and the README's steps: found, invite, join);
//! `data.rs` makes and compares datasets; `proxy.rs` is a TCP pump a test
//! can cut.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

mod cli;
mod data;
mod node;
mod proxy;
pub use cli::hand_over;
pub use data::{gen_dataset, material, sorted_dataset};
pub use node::TestNode;
pub use proxy::{socket_addr, Proxy};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_owned()
}

/// The `r2com` binary of the profile these tests were built with, built
/// now if it is missing or older than the sources.
pub fn r2com_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test exe");
        // target/<profile>/deps/<test> or target/<profile>/<bin> -> target/<profile>
        let profile_dir = exe
            .ancestors()
            .find(|d| {
                d.file_name()
                    .is_some_and(|n| n == "debug" || n == "release")
            })
            .expect("target/<profile> dir")
            .to_owned();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "r2com", "--bin", "r2com"])
            .current_dir(workspace());
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo build");
        assert!(status.success(), "cargo build -p r2com failed");
        let bin = profile_dir.join("r2com");
        assert!(bin.exists(), "{} missing after build", bin.display());
        bin
    })
}

/// Poll `pred` until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pred()
}

/// The logs of `nodes`, each under a `--- node i ---` line.
pub fn logs(nodes: &[&TestNode]) -> String {
    nodes
        .iter()
        .enumerate()
        .map(|(i, n)| format!("--- node {i} ---\n{}", n.log()))
        .collect()
}

/// How long two nodes may take to hold the same library in tests.
pub const CONVERGE: Duration = Duration::from_secs(90);

/// `a` and `b` export the same library within [`CONVERGE`]; else the test
/// fails with both logs.
pub fn assert_converges(a: &TestNode, b: &TestNode, what: &str) {
    assert!(
        wait_for(CONVERGE, || a.export() == b.export()),
        "{what}: did not converge\nA log:\n{}\nB log:\n{}",
        a.log(),
        b.log()
    );
}
