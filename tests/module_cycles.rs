//! No import cycles between the top-level modules of a crate: a module that reaches back into
//! one of its users cannot be read, tested or moved alone. Imports are read from the source
//! (`crate::<module>` outside comments and outside the trailing `#[cfg(test)]` module).
//!
//! runtime, macros and grammar have none. rules and lint still have the cycles listed in
//! `KNOWN`; the test fails when a cycle appears that is not listed, and when a listed one is
//! gone (so the list only shrinks).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use idemgate_tests::repo_root;

/// Cycles not broken yet, as sorted module lists.
const KNOWN: &[(&str, &[&str])] = &[
    ("rules/src", &["finding", "model", "registry", "rules"]),
    ("lint/src", &["config", "contract", "discover", "openapi"]),
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The first module segment after each `crate::` in `text`.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `my_crate::…`
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut g = Graph::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = first.trim_end_matches(".rs").to_string();
        if matches!(top.as_str(), "lib" | "main") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let uses = g.entry(top.clone()).or_default();
        uses.extend(crate_paths(code).into_iter().filter(|m| *m != top));
    }
    g
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        for w in &s.g[v] {
            let w = w.as_str();
            if !s.g.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.stack.contains(&w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.found.push(comp);
            }
        }
    }
    let mut s = State {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found.sort();
    s.found
}

#[test]
fn no_new_import_cycles_between_modules() {
    for src in [
        "runtime/src",
        "macros/src",
        "grammar/src",
        "rules/src",
        "lint/src",
    ] {
        let found = cycles(&graph(&repo_root().join(src)));
        let known: Vec<Vec<String>> = KNOWN
            .iter()
            .filter(|(s, _)| *s == src)
            .map(|(_, c)| c.iter().map(|m| m.to_string()).collect())
            .collect();
        for c in &found {
            assert!(
                known.contains(c),
                "{src}: the modules {c:?} import each other in a cycle"
            );
        }
        for k in &known {
            assert!(
                found.contains(k),
                "{src}: the cycle {k:?} is gone; remove it from KNOWN"
            );
        }
    }
}

#[test]
fn the_reader_finds_cycles_and_ignores_comments() {
    let mut g = Graph::new();
    g.insert("a".into(), crate_paths("use crate::b::X; // crate::c"));
    g.insert("b".into(), crate_paths("fn f() { crate::a::g() }"));
    g.insert("c".into(), crate_paths("use other_crate::a;"));
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".to_string()]]);
}
