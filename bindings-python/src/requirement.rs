//! `Requirement`: a route's requirement (scopes, role policies, claim rules), parsed and
//! checked by the engine; this file only converts.

use crate::errors::{guard, to_py};
use crate::verifier::config_text;
use pyo3::prelude::*;

/// `Requirement(spec)`: a dict or JSON text with `scopes`, `scope_match`, `roles`
/// (`"rn:role"` or `"rn:role@tenant"`), `role_match`, `role_claim` and `rules` (claim
/// rules). Raises ConfigInvalid naming the bad field. Build one per route.
#[pyclass(frozen, module = "veritoken")]
pub struct Requirement {
    pub inner: veritoken::Requirement,
}

#[pymethods]
impl Requirement {
    #[new]
    fn new(spec: &Bound<'_, PyAny>) -> PyResult<Self> {
        guard(|| {
            let text = config_text(spec)?;
            let inner =
                veritoken::Requirement::parse(&text, veritoken::Format::Json).map_err(to_py)?;
            Ok(Requirement { inner })
        })
    }

    fn __repr__(&self) -> String {
        let text = serde_json::to_string(&self.inner).unwrap_or_default();
        format!("Requirement({text})")
    }
}
