//! `Verifier` for Python: built from a dict / JSON text / file, shared by every thread.

use crate::errors::{from_py, guard, to_py};
use crate::gil;
use crate::requirement::Requirement;
use crate::token::VerifiedToken;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::sync::Arc;
use veritoken::{unix_now, Config, DpopProof, Format, SimpleRequest};

/// Verifies tokens with one configuration and one key cache. Thread-safe: make one per
/// configuration (at import time is fine, also before a pre-fork server forks).
#[pyclass(frozen, module = "veritoken")]
pub struct Verifier {
    inner: Arc<veritoken::Verifier>,
    /// The headers the engine's extraction reads (lowercase); only these are copied.
    header_names: Vec<String>,
}

/// Where a verification finished on the engine's I/O thread sends its result: the asyncio
/// future, completed on its own loop's thread.
struct Settle {
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
}

impl Settle {
    /// Runs on the engine's I/O thread. A loop that has closed, or an interpreter that is
    /// shutting down, leaves nothing to tell: the result is dropped.
    fn send(self, result: Result<veritoken::VerifiedToken, veritoken::Error>) {
        let _ = gil::try_attach(|py| -> PyResult<()> {
            let (ok, value) = match result {
                Ok(verified) => (true, Py::new(py, VerifiedToken::new(verified))?.into_any()),
                Err(e) => (false, to_py(e).value(py).clone().into_any().unbind()),
            };
            let settle = pyo3::wrap_pyfunction!(settle_future, py)?;
            self.event_loop.call_method1(
                py,
                "call_soon_threadsafe",
                (settle, self.future.clone_ref(py), ok, value),
            )?;
            Ok(())
        });
    }
}

/// On the loop's thread: the future's result or exception, unless it was cancelled meanwhile.
#[pyfunction]
fn settle_future(future: &Bound<'_, PyAny>, ok: bool, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    let method = if ok { "set_result" } else { "set_exception" };
    future.call_method1(method, (value,))?;
    Ok(())
}

/// Text of a config given as a dict (or any JSON-serializable mapping) or as JSON text.
pub(crate) fn config_text(config: &Bound<'_, PyAny>) -> PyResult<String> {
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
/// iterable of `(name, value)` pairs, keeping only those named in `wanted` (the headers the
/// engine's extraction reads): every pair is checked to be two strings, but only the
/// wanted ones are copied.
fn header_pairs(headers: &Bound<'_, PyAny>, wanted: &[String]) -> PyResult<Vec<(String, String)>> {
    let pairs = if headers.hasattr("items")? {
        headers.call_method0("items")?
    } else {
        headers.clone()
    };
    let mut kept = Vec::new();
    for pair in pairs.try_iter()? {
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair?.extract()?;
        let (name, value) = (name.downcast::<PyString>()?, value.downcast::<PyString>()?);
        let name = name.to_cow()?;
        if wanted.iter().any(|w| w.eq_ignore_ascii_case(&name)) {
            kept.push((name.into_owned(), value.to_cow()?.into_owned()));
        }
    }
    Ok(kept)
}

/// A DPoP proof with the request's method and URL, owned (to cross into a worker thread).
#[derive(Clone)]
struct Dpop {
    proof: String,
    method: String,
    url: String,
}

impl Dpop {
    /// From the `dpop_proof`, `method`, `url` keyword arguments: all or none of them.
    fn from_args(
        proof: Option<String>,
        method: Option<String>,
        url: Option<String>,
    ) -> PyResult<Option<Dpop>> {
        match (proof, method, url) {
            (None, _, _) => Ok(None),
            (Some(proof), Some(method), Some(url)) => Ok(Some(Dpop { proof, method, url })),
            _ => Err(pyo3::exceptions::PyTypeError::new_err(
                "dpop_proof needs method and url",
            )),
        }
    }

    fn proof(&self) -> DpopProof<'_> {
        DpopProof {
            proof: &self.proof,
            method: &self.method,
            url: &self.url,
        }
    }
}

impl Verifier {
    fn wrap(verifier: veritoken::Verifier) -> Verifier {
        Verifier {
            header_names: verifier.credential_header_names(),
            inner: Arc::new(verifier),
        }
    }

    fn verify_blocking(
        &self,
        py: Python<'_>,
        token: &str,
        dpop: Option<&Dpop>,
        now: i64,
    ) -> PyResult<VerifiedToken> {
        let proof = dpop.map(Dpop::proof);
        // The engine says whether releasing the GIL pays: not for a token-cache hit or an
        // HMAC token (shorter than releasing and taking it again), yes around RSA/EC work
        // and any wait for keys.
        self.inner
            .verify_offloading(token, proof.as_ref(), now, |full| gil::detach(py, full))
            .map(VerifiedToken::new)
            .map_err(to_py)
    }

    /// Cached keys answer on the loop at once. When keys (or an introspection answer) must
    /// be fetched first, the verification goes on as a task of the engine's I/O thread,
    /// which completes the returned future through `loop.call_soon_threadsafe`: no thread
    /// of the loop's executor is held for the wait.
    fn verify_on_loop<'py>(
        slf: &Bound<'py, Self>,
        token: String,
        dpop: Option<Dpop>,
        now: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
        let this = slf.get();
        let proof = dpop.as_ref().map(Dpop::proof);
        let ready = gil::detach(py, || this.inner.try_verify_at(&token, proof.as_ref(), now));
        let future = event_loop.call_method0("create_future")?;
        match ready {
            Some(Ok(verified)) => {
                future.call_method1("set_result", (VerifiedToken::new(verified),))?;
            }
            Some(Err(e)) => {
                future.call_method1("set_exception", (to_py(e).value(py),))?;
            }
            None => {
                let proof = dpop.map(|d| veritoken::OwnedDpopProof {
                    proof: d.proof,
                    method: d.method,
                    url: d.url,
                });
                let settle = Settle {
                    event_loop: event_loop.clone().unbind(),
                    future: future.clone().unbind(),
                };
                if let Err(e) = this
                    .inner
                    .verify_in_background(token, proof, now, move |r| settle.send(r))
                {
                    future.call_method1("set_exception", (to_py(e).value(py),))?;
                }
            }
        }
        Ok(future)
    }

    /// A request's token and DPoP proof (with its method and URL); with `optional`, `None`
    /// when the request carries no token (the engine's one rule, `veritoken::optional`).
    /// The headers are read once: they may be a one-shot iterator.
    fn credential(
        &self,
        headers: &Bound<'_, PyAny>,
        query: Option<String>,
        method: Option<String>,
        url: Option<String>,
        optional: bool,
    ) -> PyResult<Option<(String, Option<Dpop>)>> {
        let request = request(headers, &self.header_names, query, method, url)?;
        let extracted = self.inner.extract_credential(&request);
        let credential = match optional {
            false => extracted.map_err(to_py)?,
            true => match veritoken::optional(extracted).map_err(to_py)? {
                Some(credential) => credential,
                None => return Ok(None),
            },
        };
        let dpop = credential
            .dpop_proof(&request)
            .map_err(to_py)?
            .map(|p| Dpop {
                proof: p.proof.to_owned(),
                method: p.method.to_owned(),
                url: p.url.to_owned(),
            });
        Ok(Some((credential.token.clone(), dpop)))
    }
}

/// The engine's view of a request from Python: headers as a mapping or pairs, the raw
/// query (empty is none), and for DPoP the method and absolute URL.
fn request(
    headers: &Bound<'_, PyAny>,
    wanted: &[String],
    query: Option<String>,
    method: Option<String>,
    url: Option<String>,
) -> PyResult<SimpleRequest> {
    Ok(SimpleRequest {
        headers: header_pairs(headers, wanted)?,
        query: query.filter(|q| !q.is_empty()),
        method,
        url,
    })
}

#[pymethods]
impl Verifier {
    /// `Verifier(config)`: the configuration as a dict or JSON text (the schema every
    /// veritoken language shares). Raises ConfigInvalid naming the offending path.
    #[new]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Self> {
        guard(|| {
            let text = config_text(config)?;
            let verifier = gil::detach(py, || {
                veritoken::Verifier::new(Config::parse(&text, Format::Json)?)
            })
            .map_err(to_py)?;
            Ok(Verifier::wrap(verifier))
        })
    }

    /// A verifier from a configuration file (.json, .toml, .yaml).
    #[staticmethod]
    fn from_file(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        guard(|| {
            let verifier =
                gil::detach(py, || veritoken::Verifier::from_file(&path)).map_err(to_py)?;
            Ok(Verifier::wrap(verifier))
        })
    }

    /// Verifies `token`; returns a VerifiedToken or raises a VeritokenError subclass. The
    /// GIL is released meanwhile (a cold key cache waits at most `jwks_cache.timeout_ms`).
    /// `now` (Unix seconds) verifies as of another time. For a token sent with the DPoP
    /// scheme, `dpop_proof` is the request's `DPoP` header and `method` / `url` the request.
    #[pyo3(signature = (token, *, now = None, dpop_proof = None, method = None, url = None))]
    fn verify(
        &self,
        py: Python<'_>,
        token: String,
        now: Option<i64>,
        dpop_proof: Option<String>,
        method: Option<String>,
        url: Option<String>,
    ) -> PyResult<VerifiedToken> {
        guard(|| {
            let dpop = Dpop::from_args(dpop_proof, method, url)?;
            self.verify_blocking(py, &token, dpop.as_ref(), now.unwrap_or_else(unix_now))
        })
    }

    /// `await verifier.verify_async(token)`: never blocks the event loop and holds no
    /// executor thread. With cached keys it answers at once; when keys must be fetched, the
    /// engine's I/O thread completes the future. Same arguments as `verify`.
    #[pyo3(signature = (token, *, now = None, dpop_proof = None, method = None, url = None))]
    fn verify_async<'py>(
        slf: &Bound<'py, Self>,
        token: String,
        now: Option<i64>,
        dpop_proof: Option<String>,
        method: Option<String>,
        url: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let dpop = Dpop::from_args(dpop_proof, method, url)?;
            Verifier::verify_on_loop(slf, token, dpop, now.unwrap_or_else(unix_now))
        })
    }

    /// The token of a request, per the configured `token_sources` (Authorization: Bearer by
    /// default): `headers` is a mapping or (name, value) pairs, `query` the raw query string.
    /// Raises TokenMissing when there is none.
    #[pyo3(signature = (headers, query = None))]
    fn extract_token(&self, headers: &Bound<'_, PyAny>, query: Option<String>) -> PyResult<String> {
        guard(|| {
            let request = request(headers, &self.header_names, query, None, None)?;
            self.inner.extract_token(&request).map_err(to_py)
        })
    }

    /// What every integration does: find the token (with DPoP enabled, also
    /// `Authorization: DPoP` and its `DPoP` proof, checked against `method` and `url`, the
    /// absolute URL the client called), verify it, then require `scopes`.
    /// `requirement` (a Requirement) is checked after the scopes. With `optional=True` a
    /// request without a token returns None (anonymous); a token that fails still raises.
    #[pyo3(
        signature = (headers, query = None, scopes = None, r#match = "all", *, method = None, url = None, now = None, requirement = None, optional = false),
        text_signature = "($self, headers, query=None, scopes=None, match='all', *, method=None, url=None, now=None, requirement=None, optional=False)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn verify_request(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        query: Option<String>,
        scopes: Option<&Bound<'_, PyAny>>,
        r#match: &str,
        method: Option<String>,
        url: Option<String>,
        now: Option<i64>,
        requirement: Option<PyRef<'_, Requirement>>,
        optional: bool,
    ) -> PyResult<Option<VerifiedToken>> {
        guard(|| {
            let request = request(headers, &self.header_names, query, method, url)?;
            let inner = &self.inner;
            let extracted = inner.extract_credential(&request);
            let credential = match optional {
                false => extracted.map_err(to_py)?,
                true => match veritoken::optional(extracted).map_err(to_py)? {
                    Some(credential) => credential,
                    None => return Ok(None),
                },
            };
            let proof = credential.dpop_proof(&request).map_err(to_py)?;
            let now = now.unwrap_or_else(unix_now);
            let verified = inner
                .verify_offloading(&credential.token, proof.as_ref(), now, |full| {
                    gil::detach(py, full)
                })
                .map(VerifiedToken::new)
                .map_err(to_py)?;
            if let Some(scopes) = scopes {
                verified.require_scopes(scopes, r#match)?;
            }
            if let Some(requirement) = requirement {
                verified.check(&requirement)?;
            }
            Ok(Some(verified))
        })
    }

    /// `verify_request` for async code: the token and proof are read at once, then the
    /// verification never blocks the loop (as `verify_async`). Scopes are the caller's.
    /// With `optional=True` a request without a token resolves to None (anonymous).
    #[pyo3(signature = (headers, query = None, *, method = None, url = None, now = None, optional = false))]
    fn verify_request_async<'py>(
        slf: &Bound<'py, Self>,
        headers: &Bound<'py, PyAny>,
        query: Option<String>,
        method: Option<String>,
        url: Option<String>,
        now: Option<i64>,
        optional: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            match slf
                .get()
                .credential(headers, query, method, url, optional)?
            {
                Some((token, dpop)) => {
                    Verifier::verify_on_loop(slf, token, dpop, now.unwrap_or_else(unix_now))
                }
                None => {
                    let py = slf.py();
                    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
                    let future = event_loop.call_method0("create_future")?;
                    future.call_method1("set_result", (py.None(),))?;
                    Ok(future)
                }
            }
        })
    }

    /// `(status, headers, body)` for this verifier's refusal: like `error_response`, plus
    /// its DPoP challenge and `DPoP-Nonce` where they apply.
    #[pyo3(signature = (error, realm = None))]
    fn error_response(
        &self,
        error: &Bound<'_, PyAny>,
        realm: Option<&str>,
    ) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
        let e = from_py(error);
        (
            veritoken::http::status(&e),
            self.inner.error_headers(&e, realm),
            veritoken::http::error_body(&e).into_bytes(),
        )
    }

    /// The counters: verified, rejected per code, JWKS fetches and failures, ...
    fn metrics(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| self.metrics_dict(py))
    }

    /// Whether every issuer has usable keys (for readiness probes).
    fn is_ready(&self) -> PyResult<bool> {
        guard(|| Ok(self.inner.is_ready()))
    }

    /// `(name, value)` for each of core's engine metric families (`veritoken.prometheus`).
    fn _metric_values(&self) -> PyResult<Vec<(&'static str, u64)>> {
        guard(|| {
            let snapshot = self.inner.metrics();
            Ok(veritoken::ENGINE_FAMILIES
                .iter()
                .map(|f| (f.name, f.read(&snapshot).unwrap_or(0)))
                .collect())
        })
    }
}

type FamilyRow = (
    &'static str,
    &'static str,
    &'static str,
    String,
    &'static str,
);

/// Core's metric families as `(name, help, type, sample name, "engine" | "sidecar")`: the
/// names the sidecar's `/metrics` serves (its own per-request families last).
#[pyfunction]
pub fn _metric_families() -> Vec<FamilyRow> {
    let row = |source: &'static str| {
        move |f: &veritoken::MetricFamily| {
            (f.name, f.help, f.kind.as_str(), f.sample_name(), source)
        }
    };
    let engine = veritoken::ENGINE_FAMILIES.iter().map(row("engine"));
    engine
        .chain(veritoken::SIDECAR_FAMILIES.iter().map(row("sidecar")))
        .collect()
}

impl Verifier {
    fn metrics_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let text = serde_json::to_string(&self.inner.metrics()).map_err(|e| {
            to_py(veritoken::Error::new(
                veritoken::ErrorCode::Internal,
                e.to_string(),
            ))
        })?;
        Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
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
