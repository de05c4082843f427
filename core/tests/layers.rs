//! core's modules import one another in one direction: no module reaches, through its
//! `crate::` paths (tests and the fuzzing entry points aside), a module that reaches it
//! back. Fails with the cycle it found.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name -> the modules its non-test code names as `crate::<module>`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut texts = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let path = entry.path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "fuzzing" {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text
                .split("#[cfg(test)]")
                .next()
                .unwrap_or_default()
                .to_owned();
            texts.insert(name, code);
        }
    }
    let modules: BTreeSet<String> = texts.keys().cloned().collect();
    texts
        .iter()
        .map(|(name, code)| {
            let mut deps = BTreeSet::new();
            // `crate::a::...` and `use crate::{a, b::c}`.
            for part in code.split("crate::").skip(1) {
                let groups: Vec<&str> = match part.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap().split(',').collect(),
                    None => vec![part],
                };
                for g in groups {
                    let word: String = g
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if modules.contains(&word) && word != *name {
                        deps.insert(word);
                    }
                }
            }
            (name.clone(), deps)
        })
        .collect()
}

/// A path `from` -> ... -> `to`, if there is one.
fn path(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if !seen.insert(from.to_owned()) {
        return None;
    }
    for next in &graph[from] {
        if next == to {
            return Some(vec![from.to_owned(), to.to_owned()]);
        }
        if let Some(mut rest) = path(graph, next, to, seen) {
            rest.insert(0, from.to_owned());
            return Some(rest);
        }
    }
    None
}

#[test]
fn core_modules_have_no_import_cycles() {
    let graph = imports();
    assert!(graph.len() > 20, "read core/src");
    assert!(graph["verifier"].contains("jws"), "the parser sees imports");
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| path(&graph, m, m, &mut BTreeSet::new()))
        .map(|cycle| cycle.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles in core: {cycles:#?}");
}
