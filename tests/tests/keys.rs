//! The node key: a store whose key is missing is never given a new one.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use r2com_tests::{gen_dataset, r2com_bin, TestNode};

/// Every file and directory under `dir` with its contents, to see that
/// nothing was created or changed.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            if e.file_type().unwrap().is_dir() {
                stack.push(path);
                out.insert(name + "/", Vec::new());
            } else {
                out.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn run_with_a_store_and_no_key_refuses_to_start_and_creates_nothing() {
    let mut node = TestNode::init();
    let key = node.data_dir().join("node.key");
    let original = std::fs::read(&key).unwrap();
    node.start();
    node.ok(&["import", gen_dataset(5, 2, 3).to_str().unwrap()]);
    node.stop();
    std::fs::remove_file(&key).unwrap();
    let before = tree(node.data_dir());

    let out = Command::new(r2com_bin())
        .arg("--data-dir")
        .arg(node.data_dir())
        .args(["run", "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns"])
        .args(["--feed-listen", "off"])
        .stdin(Stdio::null())
        .output()
        .expect("run r2com");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it ran: {stderr}");
    assert!(
        stderr.contains("holds a store but no node.key"),
        "the message says what is wrong: {stderr}"
    );
    assert!(stderr.contains("key backup"), "and what to do: {stderr}");
    assert_eq!(tree(node.data_dir()), before, "nothing created or changed");
    // `init` refuses too: it would make the same stranger.
    let init = node.cli(&["init"]);
    assert!(!init.status.success());
    assert_eq!(tree(node.data_dir()), before);

    // Positive control: with its key back the node starts and has its data.
    std::fs::write(&key, &original).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    node.start();
    assert_eq!(node.json(&["status"])["counts"]["practices"], 5);
}
