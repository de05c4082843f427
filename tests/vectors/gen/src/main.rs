//! Writes the shared conformance vectors `tests/vectors/*.json`.
//!
//! `cargo run -p veritoken-vectorgen` regenerates them from the committed test keys;
//! `--new-keys` makes new keys first. Each case holds a full configuration, a fixed `now`,
//! a token (or a request to extract it from), and the expected claims or error code. Every
//! language runs every case and must agree. See `tests/vectors/README.md`.

mod accessors;
mod algorithms;
mod claims;
mod common;
mod dpop;
mod extraction;
mod keys;
mod rules;
mod scopes;
mod structure;

use common::{json, Case, Value};
use std::path::PathBuf;
use veritoken::ErrorCode;
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
        write(&path, doc);
        println!("{:>4} cases  {}", cases.len(), path.display());
    }
    println!("{total:>4} cases in all");

    let accessors = accessors::accessor_cases(&keys);
    for case in &accessors {
        assert!(
            names.insert(case.name().to_owned()),
            "duplicate case name {}",
            case.name()
        );
    }
    write(
        &root.join("accessors.json"),
        json!({
            "description": "What every language's token accessors give for a claims set \
                (accessors: claims_json in, each accessor's value expected); no verify cases",
            "generated_by": "cargo run -p veritoken-vectorgen (tests/vectors/gen)",
            "cases": [],
            "accessors": accessors.iter().map(accessors::AccessorCase::to_json).collect::<Vec<_>>(),
        }),
    );
    let signed = accessors.iter().filter(|c| c.is_signed()).count();
    println!(
        "{:>4} accessor cases ({signed} with a token)",
        accessors.len()
    );

    // Written from the engine's own table, so a binding's list is checked against the
    // engine's and not against a copy.
    let codes: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|c| json!({"name": c.as_str(), "number": c.as_int(), "http_status": c.http_status()}))
        .collect();
    write(
        &root.join("error_codes.json"),
        json!({
            "description": "The engine's error codes (ErrorCode::ALL): name, fixed number, HTTP \
                status (null: config_invalid, raised while building a verifier); no verify cases",
            "generated_by": "cargo run -p veritoken-vectorgen (tests/vectors/gen)",
            "cases": [],
            "error_codes": codes,
        }),
    );
    println!("{:>4} error codes", ErrorCode::ALL.len());
}

fn write(path: &std::path::Path, doc: Value) {
    std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
}
