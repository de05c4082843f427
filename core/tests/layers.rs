//! core reads in one direction. Its modules sit in layer folders, bottom up:
//! support, format, keys, config, remote, rules, surface. A module's non-test code names
//! (as `crate::<folder>::<module>`) only modules of its own layer or of a layer below,
//! and no module reaches, through those paths, a module that reaches it back.
//! Fails with the offending import or cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const LAYERS: [&str; 7] = [
    "support", "format", "keys", "config", "remote", "rules", "surface",
];

fn layer(module: &str) -> usize {
    let folder = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .position(|l| *l == folder)
        .unwrap_or_else(|| panic!("{module}: not in a layer folder ({LAYERS:?})"))
}

/// Every module file of core/src as `folder::name` (`folder` for a folder's mod.rs),
/// with its non-test code. lib.rs and the fuzzing entry points stand outside the layers.
fn sources() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    for dir in std::fs::read_dir(&src).unwrap().flatten() {
        let path = dir.path();
        if !path.is_dir() {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                name == "lib" || name == "fuzzing",
                "core/src/{name}.rs: put it in a layer folder ({LAYERS:?})"
            );
            continue;
        }
        let folder = path.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&path).unwrap().flatten() {
            let stem = file
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let name = match stem.as_str() {
                "mod" => folder.clone(),
                _ => format!("{folder}::{stem}"),
            };
            let text = std::fs::read_to_string(file.path()).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            out.insert(name, code.to_owned());
        }
    }
    out
}

/// Module -> the modules its code names through `crate::` paths, grouped `use`s included.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let texts = sources();
    let modules: BTreeSet<String> = texts.keys().cloned().collect();
    texts
        .iter()
        .map(|(name, code)| {
            let mut deps = BTreeSet::new();
            for part in code.split("crate::").skip(1) {
                let groups: Vec<&str> = match part.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap().split(',').collect(),
                    None => vec![part],
                };
                for g in groups {
                    let path: String = g
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                        .collect();
                    // The longest known module the path starts with: `a::b::item` -> `a::b`.
                    let segments: Vec<&str> = path.split("::").collect();
                    let found = (1..=segments.len().min(2))
                        .rev()
                        .map(|n| segments[..n].join("::"))
                        .find(|m| modules.contains(m));
                    if let Some(m) = found.filter(|m| m != name) {
                        deps.insert(m);
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
fn core_imports_point_down_the_layers() {
    let graph = imports();
    assert!(graph.len() > 25, "read core/src: {:?}", graph.keys());
    assert!(
        graph["surface::verifier"].contains("keys::jws"),
        "the parser sees imports"
    );
    let upward: Vec<String> = graph
        .iter()
        .flat_map(|(m, deps)| {
            deps.iter()
                .filter(|d| layer(d) > layer(m))
                .map(move |d| format!("{m} -> {d}"))
        })
        .collect();
    assert!(
        upward.is_empty(),
        "imports pointing up a layer: {upward:#?}"
    );
}

#[test]
fn core_modules_have_no_import_cycles() {
    let graph = imports();
    let cycles: Vec<String> = graph
        .keys()
        .filter_map(|m| path(&graph, m, m, &mut BTreeSet::new()))
        .map(|cycle| cycle.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles in core: {cycles:#?}");
}
