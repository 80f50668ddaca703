//! The CLI run against a node under test, and the steps README shows
//! with it (found a consortium, invite, join, hand over an export).

use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::{r2com_bin, TestNode};

impl TestNode {
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

/// Copy `from`'s roster or changes (`what`: "roster" or "changes") into
/// `to` through an export file, as operators hand them over; what the
/// import reported.
pub fn hand_over(what: &str, from: &TestNode, to: &TestNode) -> Value {
    let file = from.data_dir().join(format!("{what}-out.json"));
    from.ok(&[what, "export", "--out", file.to_str().unwrap()]);
    to.json(&[what, "import", file.to_str().unwrap()])
}
