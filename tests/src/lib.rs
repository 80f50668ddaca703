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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use r2com_node::demo_data;
use serde_json::Value;
use sha2::{Digest, Sha256};

mod proxy;
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

/// The demo dataset `r2com demo-data --practices P --events E --seed S`
/// prints (generated in this process), as a file to import. The file is
/// named by its content: tests running at once write their own temporary
/// file and rename it into place, and a changed generator never finds a
/// stale file.
pub fn gen_dataset(practices: u32, events: u32, seed: u32) -> PathBuf {
    let data = demo_data::to_json(&demo_data::generate(practices, events, seed.into()));
    let digest = hex::encode(&Sha256::digest(&data)[..8]);
    let dir = std::env::temp_dir().join("r2com-datasets");
    std::fs::create_dir_all(&dir).expect("dataset dir");
    let path = dir.join(format!("p{practices}-e{events}-s{seed}-{digest}.json"));
    if !path.exists() {
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).expect("dataset temp file");
        tmp.write_all(&data).expect("write dataset");
        tmp.persist(&path).expect("rename dataset into place");
    }
    path
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

/// One node: a data directory and, while started, its `r2com run` process.
pub struct TestNode {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl TestNode {
    /// A new data directory with a key (`r2com init`).
    pub fn init() -> TestNode {
        let node = TestNode {
            dir: tempfile::Builder::new()
                .prefix("r2com-test")
                .tempdir()
                .expect("tempdir"),
            child: None,
        };
        node.ok(&["init"]);
        node
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("node.log")
    }

    /// Start `r2com run` and wait until its control socket answers.
    pub fn start(&mut self) {
        self.start_with(&[]);
    }

    /// Start `r2com run` with extra options (e.g. `--feed-listen`).
    pub fn start_with(&mut self, run_args: &[&str]) {
        self.start_env(run_args, &[]);
    }

    /// Start `r2com run` with extra options and environment variables
    /// (e.g. `R2COM_FAILPOINT`).
    pub fn start_env(&mut self, run_args: &[&str], env: &[(&str, &str)]) {
        self.start_wrapped(&[], run_args, env);
    }

    /// Start `r2com run` through `wrapper` (e.g. `ip netns exec NS`, which
    /// runs it in a network namespace), with extra options and environment,
    /// and wait until its control socket answers.
    pub fn start_wrapped(&mut self, wrapper: &[&str], run_args: &[&str], env: &[(&str, &str)]) {
        self.spawn_wrapped(wrapper, run_args, env);
        let sock = self.data_dir().join("control.sock");
        let up = wait_for(Duration::from_secs(30), || {
            std::os::unix::net::UnixStream::connect(&sock).is_ok()
        });
        assert!(up, "node did not start; log:\n{}", self.log());
        let status = self.json(&["status"]);
        assert_eq!(
            status["running"], true,
            "status comes from the running node"
        );
    }

    /// Start `r2com run` like [`TestNode::start_env`] without waiting for it
    /// to answer: for a node that a failpoint may stop while it starts.
    pub fn spawn_env(&mut self, run_args: &[&str], env: &[(&str, &str)]) {
        self.spawn_wrapped(&[], run_args, env);
    }

    /// Start `r2com run` through `wrapper` without waiting for it to answer.
    pub fn spawn_wrapped(&mut self, wrapper: &[&str], run_args: &[&str], env: &[(&str, &str)]) {
        assert!(self.child.is_none(), "already started");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log file");
        // Tests stay on loopback, on ports nobody else holds, and do not
        // discover each other by mDNS, unless a test says otherwise.
        let mut args: Vec<&str> = run_args.to_vec();
        if !args.contains(&"--listen") {
            args.extend(["--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"]);
        }
        if !args.contains(&"--feed-listen") {
            args.extend(["--feed-listen", "127.0.0.1:0"]);
        }
        if !args.contains(&"--web-listen") {
            args.extend(["--web-listen", "127.0.0.1:0"]);
        }
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(r2com_bin());
                c
            }
            None => Command::new(r2com_bin()),
        };
        let child = cmd
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("run")
            .args(&args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn r2com run");
        self.child = Some(child);
    }

    /// The first address the running node listens on for peers.
    pub fn listen_addr(&self) -> String {
        let mut addr = String::new();
        let ok = wait_for(Duration::from_secs(20), || {
            let st = self.json(&["status"]);
            match st["listen"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(Value::as_str)
            {
                Some(a) => {
                    addr = a.to_owned();
                    true
                }
                None => false,
            }
        });
        assert!(ok, "node has no listen address; log:\n{}", self.log());
        addr
    }

    /// The address the running node's web app is bound to (from
    /// `DATA_DIR/web.addr`).
    pub fn web_addr(&self) -> String {
        let file = self.data_dir().join("web.addr");
        let ok = wait_for(Duration::from_secs(20), || file.exists());
        assert!(ok, "the web app did not start; log:\n{}", self.log());
        std::fs::read_to_string(file)
            .expect("web.addr")
            .trim()
            .to_owned()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Wait up to `timeout` for the node to exit by itself (e.g. at a
    /// failpoint); whether it did. The process is reaped.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let Some(c) = self.child.as_mut() else {
            return true;
        };
        let exited = wait_for(timeout, || matches!(c.try_wait(), Ok(Some(_))));
        if exited {
            self.child = None;
        }
        exited
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILL the node and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM the node and wait for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let exited = wait_for(Duration::from_secs(20), || {
                matches!(c.try_wait(), Ok(Some(_)))
            });
            if !exited {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Run a CLI command against this node.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(r2com_bin())
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run r2com")
    }

    /// Found a consortium named `name`, this node's organisation `org`
    /// (`org_name`, `country`) its first admin.
    pub fn create_consortium(&self, name: &str, org: &str, org_name: &str, country: &str) {
        self.ok(&[
            "consortium",
            "create",
            "--name",
            name,
            "--org",
            org,
            "--org-name",
            org_name,
            "--country",
            country,
        ]);
    }

    /// This node's libp2p PeerId.
    pub fn peer_id(&self) -> String {
        self.json(&["id"])["peer_id"]
            .as_str()
            .expect("peer_id")
            .to_owned()
    }

    /// The library as `r2com export` writes it.
    pub fn export(&self) -> Value {
        serde_json::from_str(&self.ok(&["export"])).expect("export is JSON")
    }

    /// An invite token from this admin node for `who`, as organisation
    /// `org` (country PT); `extra` are more `invite` options (`--addr`,
    /// `--admin`, `--expires`).
    pub fn invite(&self, org: &str, who: &TestNode, extra: &[&str]) -> String {
        self.invite_key(org, &who.peer_id(), extra)
    }

    /// As [`TestNode::invite`], for a key given as a PeerId or hex (a node
    /// not started by the harness, a key made by the test).
    pub fn invite_key(&self, org: &str, key: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "invite",
            "--org",
            org,
            "--org-name",
            org,
            "--country",
            "PT",
            "--key",
            key,
        ];
        args.extend_from_slice(extra);
        self.ok(&args).trim().to_owned()
    }

    /// This node's first listen address with its PeerId (`/p2p/...`), the
    /// address an invite names.
    pub fn full_addr(&self) -> String {
        format!("{}/p2p/{}", self.listen_addr(), self.peer_id())
    }

    /// Join `admin`'s consortium as `org` with an invite that names `addr`
    /// (the address this node dials first), as README shows: the admin
    /// invites, this node joins. Not started.
    pub fn join(&self, admin: &TestNode, org: &str, addr: &str) {
        let token = admin.invite(org, self, &["--addr", addr]);
        self.ok(&["join", &token]);
    }

    /// Join `admin`'s consortium as `org` with an invite that names `via`'s
    /// address, then start.
    pub fn join_via(&mut self, admin: &TestNode, via: &TestNode, org: &str) {
        self.join(admin, org, &via.listen_addr());
        self.start();
    }

    /// This node's `peers --json` entry for the member with PeerId `peer`
    /// (null when it lists none).
    pub fn peer_entry(&self, peer: &str) -> Value {
        self.json(&["peers"])["members"]
            .as_array()
            .expect("members")
            .iter()
            .find(|p| p["peer_id"] == peer)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Run a CLI command that must succeed; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "r2com {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Run a CLI command with `--json` that must succeed; its output parsed.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let text = self.ok(&a);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("r2com {args:?}: not JSON ({e}): {text}"))
    }

    /// Run a CLI command with `--json` that must fail with `code`; the
    /// error object it printed on standard output
    /// (`{"error": {"code", "message"}}`), checked to be the only output.
    pub fn json_error(&self, args: &[&str], code: i32) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.cli(&a);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "r2com {args:?}: stdout {stdout} stderr {stderr}"
        );
        assert!(stderr.is_empty(), "r2com {args:?}: stderr {stderr}");
        let v: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("r2com {args:?}: not JSON ({e}): {stdout}"));
        assert!(v["error"]["message"].is_string(), "{v}");
        v["error"].clone()
    }

    /// Run a CLI command that must fail with `code`; its stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.cli(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "r2com {args:?}: stderr {stderr}"
        );
        stderr
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Copy `from`'s roster or changes (`what`: "roster" or "changes") into
/// `to` through an export file, as operators hand them over; what the
/// import reported.
pub fn hand_over(what: &str, from: &TestNode, to: &TestNode) -> Value {
    let file = from.data_dir().join(format!("{what}-out.json"));
    from.ok(&[what, "export", "--out", file.to_str().unwrap()]);
    to.json(&[what, "import", file.to_str().unwrap()])
}

/// Records of a dataset file, keyed and sorted for comparison.
pub fn sorted_dataset(v: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for key in ["practices", "events"] {
        let mut items = v[key].as_array().cloned().unwrap_or_default();
        items.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        out.insert(key.to_owned(), Value::Array(items));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn datasets_generated_at_once_by_several_tests_are_whole() {
        let paths: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| super::gen_dataset(50, 20, 11)))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().expect("no panic"))
            .collect();
        assert!(paths.windows(2).all(|w| w[0] == w[1]));
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&paths[0]).unwrap()).unwrap();
        assert_eq!(v["practices"].as_array().unwrap().len(), 50);
        assert_eq!(v["events"].as_array().unwrap().len(), 20);
    }
}
