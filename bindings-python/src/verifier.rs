//! `Verifier` for Python: built from a dict / JSON text / file, shared by every thread.

use crate::errors::{from_py, to_py};
use crate::token::VerifiedToken;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::sync::Arc;
use veritoken::{unix_now, Config, Format, SimpleRequest};

/// Verifies tokens with one configuration and one key cache. Thread-safe: make one per
/// configuration (at import time is fine, also before a pre-fork server forks).
#[pyclass(frozen, module = "veritoken")]
pub struct Verifier {
    inner: Arc<veritoken::Verifier>,
}

/// Text of a config given as a dict (or any JSON-serializable mapping) or as JSON text.
fn config_text(config: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = config.downcast::<PyString>() {
        return text.extract();
    }
    let json = config.py().import("json")?;
    match json.call_method1("dumps", (config,)) {
        Ok(text) => text.extract(),
        Err(e) => Err(to_py(veritoken::Error::new(
            veritoken::ErrorCode::ConfigInvalid,
            format!(
                "the configuration is not JSON-serializable: {}",
                e.value(config.py())
            ),
        ))),
    }
}

/// Header pairs from a mapping (`.items()`, several values per name allowed) or an
/// iterable of `(name, value)` pairs.
fn header_pairs(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let pairs = if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    pairs
        .try_iter()?
        .map(|pair| pair?.extract::<(String, String)>())
        .collect()
}

#[pymethods]
impl Verifier {
    /// `Verifier(config)`: the configuration as a dict or JSON text (the schema every
    /// veritoken language shares). Raises ConfigInvalid naming the offending path.
    #[new]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = config_text(config)?;
        let verifier = py
            .detach(|| veritoken::Verifier::new(Config::parse(&text, Format::Json)?))
            .map_err(to_py)?;
        Ok(Verifier {
            inner: Arc::new(verifier),
        })
    }

    /// A verifier from a configuration file (.json, .toml, .yaml).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let verifier = py
            .detach(|| veritoken::Verifier::from_file(&path))
            .map_err(to_py)?;
        Ok(Verifier {
            inner: Arc::new(verifier),
        })
    }

    /// Verifies `token`; returns a VerifiedToken or raises a VeritokenError subclass. The
    /// GIL is released meanwhile (a cold key cache waits at most `jwks_cache.timeout_ms`).
    /// `now` (Unix seconds) verifies as of another time.
    #[pyo3(signature = (token, *, now = None))]
    fn verify(&self, py: Python<'_>, token: String, now: Option<i64>) -> PyResult<VerifiedToken> {
        let inner = &self.inner;
        py.detach(|| inner.verify_at(&token, now.unwrap_or_else(unix_now)))
            .map(VerifiedToken::new)
            .map_err(to_py)
    }

    /// `await verifier.verify_async(token)`: never blocks the event loop. With cached keys
    /// it answers at once; when keys must be fetched the wait runs in the loop's default
    /// executor.
    #[pyo3(signature = (token, *, now = None))]
    fn verify_async<'py>(
        slf: &Bound<'py, Self>,
        token: String,
        now: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let asyncio = py.import("asyncio")?;
        let event_loop = asyncio.call_method0("get_running_loop")?;
        let at = now.unwrap_or_else(unix_now);
        let this = slf.get();
        let ready = py.detach(|| this.inner.try_verify_at(&token, at));
        let future = event_loop.call_method0("create_future")?;
        match ready {
            Some(Ok(verified)) => {
                future.call_method1("set_result", (VerifiedToken::new(verified),))?;
            }
            Some(Err(e)) => {
                future.call_method1("set_exception", (to_py(e).value(py),))?;
            }
            None => {
                let kwargs = PyDict::new(py);
                kwargs.set_item("now", at)?;
                let functools = py.import("functools")?;
                let call = functools.call_method(
                    "partial",
                    (slf.getattr("verify")?, token),
                    Some(&kwargs),
                )?;
                return event_loop.call_method1("run_in_executor", (py.None(), call));
            }
        }
        Ok(future)
    }

    /// The token of a request, per the configured `token_sources` (Authorization: Bearer by
    /// default): `headers` is a mapping or (name, value) pairs, `query` the raw query string.
    /// Raises TokenMissing when there is none.
    #[pyo3(signature = (headers, query = None))]
    fn extract_token(&self, headers: &Bound<'_, PyAny>, query: Option<String>) -> PyResult<String> {
        let request = SimpleRequest {
            headers: header_pairs(headers)?,
            query: query.filter(|q| !q.is_empty()),
        };
        self.inner.extract_token(&request).map_err(to_py)
    }

    /// extract_token + verify + require_scopes, as every integration does it.
    #[pyo3(signature = (headers, query = None, scopes = None, r#match = "all"))]
    fn verify_request(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        query: Option<String>,
        scopes: Option<&Bound<'_, PyAny>>,
        r#match: &str,
    ) -> PyResult<VerifiedToken> {
        let token = self.extract_token(headers, query)?;
        let verified = self.verify(py, token, None)?;
        if let Some(scopes) = scopes {
            verified.require_scopes(scopes, r#match)?;
        }
        Ok(verified)
    }

    /// The counters: verified, rejected per code, JWKS fetches and failures, ...
    fn metrics(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let text = serde_json::to_string(&self.inner.metrics()).map_err(|e| {
            to_py(veritoken::Error::new(
                veritoken::ErrorCode::Internal,
                e.to_string(),
            ))
        })?;
        Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
    }

    /// Whether every issuer has usable keys (for readiness probes).
    fn is_ready(&self) -> bool {
        self.inner.is_ready()
    }
}

/// `(status, headers, body)` for a VeritokenError, as every veritoken middleware answers:
/// 401/403/503, the RFC 6750 `WWW-Authenticate` challenge, and the JSON error body.
#[pyfunction]
#[pyo3(signature = (error, realm = None))]
pub fn error_response(
    error: &Bound<'_, PyAny>,
    realm: Option<&str>,
) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
    let e = from_py(error);
    (
        veritoken::http::status(&e),
        veritoken::http::error_headers(&e, realm),
        veritoken::http::error_body(&e).into_bytes(),
    )
}
