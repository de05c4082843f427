//! What the targets share: verifiers built from the shared vectors' configurations.

#![allow(dead_code)]

use serde_json::Value;
use veritoken::{Config, Verifier};

/// The configuration and `now` of the shared vector `name` in `tests/vectors/<file>`.
pub fn vector(file: &str, name: &str) -> (Value, i64, Value) {
    let path = format!("{}/../tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let case = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
        .clone();
    (case["config"].clone(), case["now"].as_i64().unwrap(), case)
}

pub fn verifier(config: Value) -> Verifier {
    Verifier::new(Config::from_value(config).unwrap()).unwrap()
}
