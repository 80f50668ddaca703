//! Practices linked across languages (`translation_of` + `language`): list
//! and show name the other languages, search finds a practice through any
//! of its translations, export and import carry the link, and exports
//! without it still import.

use r2com_tests::{gen_dataset, TestNode};
use serde_json::{json, Value};

fn add(n: &TestNode, id: &str, title: &str, summary: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "practice",
        "add",
        "--id",
        id,
        "--title",
        title,
        "--summary",
        summary,
        "--organisation",
        "lmds",
        "--contact",
        "team@example.org",
    ];
    args.extend_from_slice(extra);
    n.json(&args)
}

fn translations(n: &TestNode, id: &str) -> Value {
    let rows = n.json(&["practice", "list"]);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed: {rows}"));
    row["translations"].clone()
}

#[test]
fn translations_are_linked_listed_found_and_carried_by_export() {
    let node = TestNode::init();
    node.create_consortium("RAN", "lmds", "LMDS", "FR");
    // An old export (no translation fields) imports as before.
    node.ok(&["import", gen_dataset(5, 2, 3).to_str().unwrap()]);

    add(
        &node,
        "p-en",
        "Family mentoring",
        "Mentors meet the families every week.",
        &["--written-in", "en"],
    );
    let fr = add(
        &node,
        "p-fr",
        "Mentorat familial",
        "Les mentors rencontrent les familles (méthode Zorglub).",
        &["--translation-of", "p-en", "--written-in", "fr"],
    );
    assert_eq!(
        (&fr["translation_of"], &fr["language"]),
        (&json!("p-en"), &json!("fr"))
    );
    add(
        &node,
        "p-pt",
        "Mentoria familiar",
        "Os mentores visitam as familias.",
        &["--translation-of", "p-fr", "--written-in", "pt"],
    );

    // Each lists the others (a translation of a translation is one group).
    assert_eq!(
        translations(&node, "p-en"),
        json!([{"id": "p-fr", "language": "fr"}, {"id": "p-pt", "language": "pt"}])
    );
    assert_eq!(
        translations(&node, "p-pt"),
        json!([{"id": "p-en", "language": "en"}, {"id": "p-fr", "language": "fr"}])
    );
    assert_eq!(translations(&node, "p-000000"), Value::Null, "not linked");
    let shown = node.ok(&["practice", "show", "p-en"]);
    assert!(
        shown.contains("other languages") && shown.contains("fr p-fr"),
        "{shown}"
    );

    // A French word finds the English and Portuguese practices through
    // their French translation.
    let hits = node.json(&["search", "zorglub"]);
    let ids: Vec<(&str, Option<&str>)> = hits
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["id"].as_str().unwrap(), h["via"].as_str()))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("p-fr", None),
            ("p-en", Some("p-fr")),
            ("p-pt", Some("p-fr"))
        ],
        "{hits}"
    );

    // Invalid links are refused.
    let e = node.json_error(
        &[
            "practice",
            "add",
            "--id",
            "p-x",
            "--title",
            "X",
            "--organisation",
            "lmds",
            "--contact",
            "a@example.org",
            "--translation-of",
            "p-x",
            "--written-in",
            "fr",
        ],
        3,
    );
    assert!(
        e["message"].as_str().unwrap().contains("translation_of"),
        "{e}"
    );
    let e = node.json_error(&["practice", "edit", "p-en", "--set", "language=xx-yy"], 3);
    assert!(e["message"].as_str().unwrap().contains("language"), "{e}");

    // Export carries the link; another node imports it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("library.json");
    node.ok(&["export", "--out", file.to_str().unwrap()]);
    let other = TestNode::init();
    other.create_consortium("RAN", "lmds", "LMDS", "FR");
    other.ok(&["import", file.to_str().unwrap()]);
    assert_eq!(
        other.json(&["practice", "show", "p-pt"])["translation_of"],
        "p-fr"
    );
    assert_eq!(translations(&other, "p-en"), translations(&node, "p-en"));
}
