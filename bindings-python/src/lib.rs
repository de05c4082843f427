//! veritoken for Python: converts types and maps errors; every rule lives in `veritoken`.
//! The GIL is released while verifying (and so while waiting for a key fetch), except
//! where the engine says keeping it pays, and once the interpreter exits (`gil.rs`).

mod errors;
mod gil;
mod logging;
mod requirement;
mod token;
mod verifier;

use pyo3::prelude::*;

#[pymodule]
fn _veritoken(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    errors::register(m)?;
    m.add_class::<verifier::Verifier>()?;
    m.add_class::<token::VerifiedToken>()?;
    m.add_class::<requirement::Requirement>()?;
    m.add_function(wrap_pyfunction!(verifier::error_response, m)?)?;
    m.add_function(wrap_pyfunction!(logging::_set_logger, m)?)?;
    m.add_function(wrap_pyfunction!(verifier::_metric_families, m)?)?;
    m.add_function(wrap_pyfunction!(token::_claim_accessors_json, m)?)?;
    gil::register(m)?;
    Ok(())
}
