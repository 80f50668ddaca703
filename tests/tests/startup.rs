//! An operator polls `r2com status` while the service starts and stops:
//! the CLI must never take the store from a starting node (`run` waits for
//! the data directory's lock; the CLI waits for the node's control socket
//! while a node holds it), and every `status` must answer.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use r2com_tests::{gen_dataset, TestNode};

const TRIES: usize = 100;

#[test]
fn run_starts_every_time_while_status_is_polled_every_10_ms() {
    let mut node = TestNode::init();
    node.create_consortium("RAN", "lmds", "LMDS", "FR");
    node.ok(&["import", gen_dataset(100, 40, 1).to_str().unwrap()]);

    let stop = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let poller = {
        let (stop, polls, failures) = (stop.clone(), polls.clone(), failures.clone());
        let dir = node.data_dir().to_owned();
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let out = std::process::Command::new(r2com_tests::r2com_bin())
                    .arg("--data-dir")
                    .arg(&dir)
                    .args(["status", "--json"])
                    .output()
                    .expect("run r2com status");
                polls.fetch_add(1, Ordering::SeqCst);
                if !out.status.success() {
                    failures.lock().unwrap().push(format!(
                        "{}: {}{}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr),
                        String::from_utf8_lossy(&out.stdout)
                    ));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };

    let started = Instant::now();
    for i in 0..TRIES {
        // `start` fails the test if the node does not come up, and checks
        // that `status` then answers from the running node.
        node.start_with(&["--feed-listen", "off"]);
        node.stop();
        let log = node.log();
        assert!(!log.contains("r2com: "), "try {i}: the node failed:\n{log}");
    }
    stop.store(true, Ordering::SeqCst);
    poller.join().unwrap();
    let failures = failures.lock().unwrap();
    let polls = polls.load(Ordering::SeqCst);
    println!(
        "{TRIES} starts in {:.1} s while {polls} status commands ran; {} failed",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(polls > TRIES, "the poller ran only {polls} times");
    assert!(failures.is_empty(), "status failed: {failures:?}");
}

#[test]
fn a_command_against_a_held_store_says_who_holds_it() {
    let node = TestNode::init();
    // A lock held by a process that is not a node and never answers.
    let lock = r2com_node_lock(node.data_dir());
    let out = node.cli(&["status"]);
    drop(lock);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("is held by"), "{stderr}");
    node.ok(&["status"]);
}

/// Hold `DIR/node.lock` as a node would (an flock from this process).
fn r2com_node_lock(dir: &std::path::Path) -> std::fs::File {
    use std::io::Write;
    use std::os::unix::io::AsRawFd;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("node.lock"))
        .unwrap();
    // SAFETY: flock on a file we own.
    assert_eq!(unsafe { libc_flock(f.as_raw_fd(), 2) }, 0);
    writeln!(f, "{} node", std::process::id()).unwrap();
    f
}

extern "C" {
    #[link_name = "flock"]
    fn libc_flock(fd: i32, op: i32) -> i32;
}
