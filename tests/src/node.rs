//! A node under test: its data directory and its `r2com run` process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{r2com_bin, wait_for};

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
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill9();
    }
}
