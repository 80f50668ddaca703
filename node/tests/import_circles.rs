//! No import circle among node's files (issue 12): the files of `src` and
//! the `crate::`/`super::` paths each names (use groups opened one level),
//! tests and `//` lines left out, a module using its own descendants not
//! counted. A file-level circle fails the test, naming its edges.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Circles known and not yet broken (none: the network loop's `impl Loop`
/// blocks live under `net/event_loop/`, which the loop's own files may
/// use). A new circle fails this test; list it here only with a reason.
const KNOWN: &[&[&str]] = &[];

fn files(dir: &Path, root: &Path, out: &mut BTreeMap<Module, String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, root, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
            let mut m: Module = rel[..rel.len() - 3].split('/').map(String::from).collect();
            if m.last().is_some_and(|l| l == "mod" || l == "lib") {
                m.pop();
            }
            out.insert(m, rel);
        }
    }
}

fn is_test(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap();
    name.contains("tests") || file.contains("tests/") || file.ends_with("testing.rs")
}

/// Every `crate::a::b` / `super::a` path in `text`, `{a, b::c}` groups
/// opened one level.
fn paths(text: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    for (i, _) in text.match_indices("::") {
        let head_start = text[..i].rfind(|c| !ident(c)).map_or(0, |j| j + 1);
        let head = &text[head_start..i];
        let before = text[..head_start].chars().next_back();
        if !(head == "crate" || head == "super") || before == Some(':') {
            continue; // not a path's start (`super::super::x` starts at the first)
        }
        let rest = &text[head_start..];
        let end = rest
            .find(|c: char| !(ident(c) || c == ':'))
            .unwrap_or(rest.len());
        let prefix: Vec<String> = rest[..end]
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        match rest[end..]
            .strip_prefix('{')
            .filter(|_| rest[..end].ends_with("::"))
        {
            Some(group) => {
                let group = &group[..group.find(['{', '}']).unwrap_or(group.len())];
                for item in group.split(',') {
                    let item = item.split(" as ").next().unwrap().trim();
                    let item: Vec<String> = item
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect();
                    out.push([prefix.clone(), item].concat());
                }
            }
            None => out.push(prefix),
        }
    }
    out
}

#[test]
fn no_import_circle_among_node_files() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut mods = BTreeMap::new();
    files(&src, &src, &mut mods);
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (me, file) in &mods {
        if is_test(file) || me.is_empty() {
            continue;
        }
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        let text = text
            .match_indices("#[cfg(test)]")
            .find(|(i, t)| text[i + t.len()..].trim_start().starts_with("mod tests"))
            .map_or(&text[..], |(i, _)| &text[..i]);
        let text: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        for path in paths(&text.join("\n")) {
            let (mut target, mut segs) = match path[0].as_str() {
                "crate" => (vec![], &path[1..]),
                _ => (me.clone(), &path[..]),
            };
            while segs.first().is_some_and(|s| s == "super") {
                target.pop();
                segs = &segs[1..];
            }
            target.extend(segs.iter().cloned());
            while !target.is_empty() && !mods.contains_key(&target) {
                target.pop();
            }
            let Some(to) = mods.get(&target) else {
                continue;
            };
            if target.is_empty() || to == file || is_test(to) || target.starts_with(me) {
                continue;
            }
            edges
                .entry(file.clone())
                .or_default()
                .entry(to.clone())
                .or_insert(path.join("::"));
        }
    }
    // Two files are in one circle when each reaches the other.
    let reach = |from: &String| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![from.clone()]);
        while let Some(f) = todo.pop() {
            for to in edges.get(&f).into_iter().flat_map(|e| e.keys()) {
                if seen.insert(to.clone()) {
                    todo.push(to.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        edges.keys().map(|f| (f, reach(f))).collect();
    let mut circles: BTreeSet<Vec<String>> = BTreeSet::new();
    for (f, r) in &reached {
        if r.contains(*f) {
            circles.insert(
                r.iter()
                    .filter(|g| reached.get(g).is_some_and(|b| b.contains(*f)))
                    .cloned()
                    .collect(),
            );
        }
    }
    let known: BTreeSet<Vec<String>> = KNOWN
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let mut report = String::new();
    for c in circles.symmetric_difference(&known) {
        let state = if circles.contains(c) {
            "import circle"
        } else {
            "no longer a circle (remove from KNOWN)"
        };
        report += &format!("{state}: {c:?}\n");
        for a in c {
            for (to, path) in edges.get(a).into_iter().flatten() {
                if c.contains(to) {
                    report += &format!("  {a} -> {to}  ({path})\n");
                }
            }
        }
    }
    assert!(report.is_empty(), "{report}");
}
