//! `r2com demo-data`: what a new user imports to try the library and the
//! calendar, and what the tests and the bench use.

use r2com_tests::{gen_dataset, r2com_bin, TestNode};
use serde_json::Value;
use std::process::Command;

fn demo_data(args: &[&str]) -> std::process::Output {
    Command::new(r2com_bin())
        .arg("demo-data")
        .args(args)
        .output()
        .expect("running r2com demo-data")
}

#[test]
fn demo_data_prints_the_same_dataset_every_time_and_it_imports() {
    let args = ["--practices", "30", "--events", "12", "--seed", "4"];
    let out = demo_data(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, demo_data(&args).stdout, "same seed, same bytes");
    assert_eq!(out.stdout, std::fs::read(gen_dataset(30, 12, 4)).unwrap());
    let other = demo_data(&["--practices", "30", "--events", "12", "--seed", "5"]);
    assert_ne!(out.stdout, other.stdout);

    let mut node = TestNode::init();
    node.start();
    let file = node.data_dir().join("demo.json");
    let written = demo_data(&[&args[..], &["--out", file.to_str().unwrap()]].concat());
    assert!(written.status.success());
    assert!(written.stdout.is_empty());
    assert_eq!(std::fs::read(&file).unwrap(), out.stdout);
    let reported = demo_data(&[&args[..], &["--json", "--out", file.to_str().unwrap()]].concat());
    let reported: Value = serde_json::from_slice(&reported.stdout).unwrap();
    assert_eq!(reported["written"], file.to_str().unwrap());
    assert_eq!(reported["bytes"], out.stdout.len());
    let report = node.json(&["import", file.to_str().unwrap()]);
    assert_eq!(report["created"], 42);
    // Imported unchanged: the export gives back the generated records.
    let export: Value = serde_json::from_str(&node.ok(&["export"])).unwrap();
    let generated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r2com_tests::sorted_dataset(&export),
        r2com_tests::sorted_dataset(&generated)
    );
}

#[test]
fn demo_data_refuses_bad_arguments() {
    for args in [
        &["--practices", "-3"][..],
        &["--events", "many"],
        &["--seed", "1.5"],
    ] {
        let out = demo_data(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
}
