//! Cryptography only through aws-lc-rs's public API (CONTRIBUTING.md, docs/security.md):
//! no crate of the workspace links aws-lc's C functions directly or hand-assembles a
//! construction from them.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !matches!(name.as_ref(), "target" | "node_modules" | ".venv" | "build") {
                walk(&path, out);
            }
        } else if name.ends_with(".rs") || name == "Cargo.toml" {
            out.push(path);
        }
    }
}

#[test]
fn no_crate_uses_aws_lc_sys_directly() {
    let root = root();
    let mut files = Vec::new();
    for dir in [
        "core",
        "cli",
        "bindings-c",
        "bindings-python",
        "bindings-node",
        "tests",
    ] {
        walk(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "the walk found the sources");
    let this = Path::new(file!()).file_name().unwrap();
    let offenders: Vec<_> = files
        .iter()
        .filter(|p| p.file_name() != Some(this))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            text.contains("aws_lc_sys") || text.contains("aws-lc-sys")
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "aws-lc-sys used directly (go through aws-lc-rs's public API): {offenders:?}"
    );
    // The workspace manifest names aws-lc-rs's backend feature only, never the crate.
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let deps = manifest
        .split("[workspace.dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    assert!(
        !deps
            .lines()
            .any(|l| l.trim_start().starts_with("aws-lc-sys")),
        "aws-lc-sys is a direct workspace dependency"
    );
}
