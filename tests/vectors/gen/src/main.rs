//! Writes the shared conformance vectors `tests/vectors/*.json`.
//!
//! `cargo run -p veritoken-vectorgen` regenerates them from the committed test keys;
//! `--new-keys` makes new keys first. Each case holds a full configuration, a fixed `now`,
//! a token (or a request to extract it from), and the expected claims or error code. Every
//! language runs every case and must agree. See `tests/vectors/README.md`.

mod algorithms;
mod claims;
mod common;
mod dpop;
mod extraction;
mod keys;
mod rules;
mod scopes;
mod structure;

use common::{json, Case};
use std::path::PathBuf;
use veritoken_testidp::keys::Keys;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let fresh = std::env::args().any(|a| a == "--new-keys");
    let keys = Keys::load_or_create(&root.join("keys/test-only-private-keys.json"), fresh);
    let groups: Vec<(&str, &str, Vec<Case>)> = vec![
        (
            "algorithms",
            "Every algorithm: valid, tampered, wrong key, allow-list, unknown kid",
            algorithms::algorithm_cases(&keys),
        ),
        (
            "structure",
            "Compact serialization, base64url, JSON and header rules",
            structure::structure_cases(&keys),
        ),
        (
            "claims",
            "Registered claims, typ, ordering of checks, several issuers",
            claims::claim_cases(&keys),
        ),
        (
            "keys",
            "Key binding, kid lookup, key sources and configurations that must not build",
            keys::key_cases(&keys),
        ),
        (
            "extraction",
            "Finding the token in a request",
            extraction::extraction_cases(&keys),
        ),
        (
            "scopes",
            "Scope and permission requirements",
            scopes::scope_cases(&keys),
        ),
        (
            "rules",
            "Claim rules (issuer and route), role policies, optional authentication",
            rules::rule_cases(&keys),
        ),
        (
            "dpop",
            "DPoP (RFC 9449): proofs, key binding, schemes, nonces",
            dpop::dpop_cases(&keys),
        ),
    ];
    let mut total = 0;
    let mut names = std::collections::HashSet::new();
    for (file, description, cases) in groups {
        for case in &cases {
            assert!(
                names.insert(case.name.clone()),
                "duplicate case name {}",
                case.name
            );
        }
        total += cases.len();
        let doc = json!({
            "description": description,
            "generated_by": "cargo run -p veritoken-vectorgen (tests/vectors/gen)",
            "cases": cases.iter().map(Case::to_json).collect::<Vec<_>>(),
        });
        let path = root.join(format!("{file}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
        println!("{:>4} cases  {}", cases.len(), path.display());
    }
    println!("{total:>4} cases in all");
}
