//! `VerifiedToken`: what a successful verification gives Python.

use crate::errors::{guard, to_py};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList, PyString};
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::sync::OnceLock;
use veritoken::ScopeMatch;

/// A verified token: claims and header exactly as the engine accepted them.
#[pyclass(frozen, module = "veritoken")]
pub struct VerifiedToken {
    inner: veritoken::VerifiedToken,
    claims: OnceLock<Py<PyAny>>,
    header: OnceLock<Py<PyAny>>,
}

impl VerifiedToken {
    pub fn new(inner: veritoken::VerifiedToken) -> Self {
        VerifiedToken {
            inner,
            claims: OnceLock::new(),
            header: OnceLock::new(),
        }
    }
}

/// Builds the Python object `json.loads` would give for a JSON text, straight from the
/// parser's events: no intermediate map, no second decode (what `claims` costs most).
///
/// Strings, booleans, null and integers that fit an `i64` / `u64` come out as `json.loads`
/// gives them. A number serde_json hands over as an `f64` may not: an integer beyond
/// `i64` / `u64` (an `int` for `json.loads`), `-0` (the `int` 0), and any fraction or
/// exponent (serde_json's default float parsing is not always correctly rounded, Python's
/// is). The first such number stops the walk and sets `fallback`: [`cached`] then asks
/// `json.loads` itself for that text.
#[derive(Copy, Clone)]
struct PySeed<'py, 'a> {
    py: Python<'py>,
    fallback: &'a Cell<bool>,
}

fn py_error<E: serde::de::Error>(e: PyErr) -> E {
    E::custom(e.to_string())
}

impl<'de, 'py> DeserializeSeed<'de> for PySeed<'py, '_> {
    type Value = Bound<'py, PyAny>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, 'py> Visitor<'de> for PySeed<'py, '_> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.py.None().into_bound(self.py))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        let Ok(number) = v.into_pyobject(self.py);
        Ok(number.into_any())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        let Ok(number) = v.into_pyobject(self.py);
        Ok(number.into_any())
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.fallback.set(true);
        Err(E::custom("a number json.loads reads differently"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(PyString::new(self.py, v).into_any())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.py);
        while let Some(item) = seq.next_element_seed(self)? {
            list.append(item).map_err(py_error)?;
        }
        Ok(list.into_any())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.py);
        while let Some(key) = map.next_key_seed(self)? {
            let value = map.next_value_seed(self)?;
            dict.set_item(key, value).map_err(py_error)?;
        }
        Ok(dict.into_any())
    }
}

/// The dict for `json` (validated by the engine), built once per token: what
/// `json.loads(json)` gives, from the parser's events or, for a text with a number they
/// cannot give exactly (see [`PySeed`]), from `json.loads` itself.
fn cached(py: Python<'_>, cell: &OnceLock<Py<PyAny>>, json: &str) -> PyResult<Py<PyAny>> {
    if let Some(v) = cell.get() {
        return Ok(v.clone_ref(py));
    }
    let fallback = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(json);
    let value = match (PySeed {
        py,
        fallback: &fallback,
    })
    .deserialize(&mut de)
    {
        Ok(value) => value,
        Err(_) if fallback.get() => py.import("json")?.call_method1("loads", (json,))?,
        Err(e) => return Err(PyValueError::new_err(format!("claims are not JSON: {e}"))),
    };
    Ok(cell.get_or_init(|| value.unbind()).clone_ref(py))
}

/// Test hook: every accessor's value for a claims set given as JSON text, as JSON (the
/// engine's `claim_accessors_json`: what `VerifiedToken`'s properties give), for the
/// shared accessor vectors whose claims no verifier accepts.
#[pyfunction]
pub fn _claim_accessors_json(claims_json: &str) -> PyResult<String> {
    guard(|| veritoken::claim_accessors_json(claims_json).map_err(to_py))
}

/// `"all"` or `"any"`.
pub fn scope_match(name: &str) -> PyResult<ScopeMatch> {
    ScopeMatch::from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!("match must be \"all\" or \"any\", not {name:?}"))
    })
}

/// A scope list from Python: one string or an iterable of strings.
pub fn scope_list(scopes: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(one) = scopes.downcast::<PyString>() {
        return Ok(vec![one.extract::<String>()?]);
    }
    scopes.try_iter()?.map(|s| s?.extract::<String>()).collect()
}

#[pymethods]
impl VerifiedToken {
    /// The claims as a dict, as `json.loads(claims_json)` gives them (decoded once; the
    /// same dict on every access).
    #[getter]
    fn claims(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| cached(py, &self.claims, self.inner.claims_json()))
    }

    /// The protected header as a dict, as `json.loads(header_json)` gives it.
    #[getter]
    fn header(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guard(|| cached(py, &self.header, self.inner.header_json()))
    }

    /// The claims as JSON text.
    #[getter]
    fn claims_json(&self) -> &str {
        self.inner.claims_json()
    }

    /// The protected header as JSON text.
    #[getter]
    fn header_json(&self) -> &str {
        self.inner.header_json()
    }

    /// The algorithm that verified the signature, e.g. "RS256".
    #[getter]
    fn algorithm(&self) -> Option<&'static str> {
        self.inner.algorithm().map(|a| a.name())
    }

    #[getter]
    fn kid(&self) -> Option<&str> {
        self.inner.kid()
    }

    #[getter]
    fn issuer(&self) -> &str {
        self.inner.issuer()
    }

    #[getter]
    fn subject(&self) -> Option<&str> {
        self.inner.subject()
    }

    #[getter]
    fn jwt_id(&self) -> Option<&str> {
        self.inner.jwt_id()
    }

    /// The thumbprint of the key a DPoP-bound token is bound to (`cnf.jkt`), else None.
    #[getter]
    fn dpop_jkt(&self) -> Option<&str> {
        self.inner.dpop_jkt()
    }

    /// `aud` as a list (a single string becomes one element).
    #[getter]
    fn audiences(&self) -> Vec<&str> {
        self.inner.audiences()
    }

    /// `exp` in Unix seconds, or None.
    #[getter]
    fn expires_at(&self) -> Option<i64> {
        self.inner.expires_at()
    }

    #[getter]
    fn not_before(&self) -> Option<i64> {
        self.inner.not_before()
    }

    #[getter]
    fn issued_at(&self) -> Option<i64> {
        self.inner.issued_at()
    }

    /// Raises ScopeInsufficient (naming the claim of a failing rule) or ClaimsInvalid
    /// unless the token meets `requirement` (a Requirement).
    pub fn check(&self, requirement: &crate::requirement::Requirement) -> PyResult<()> {
        guard(|| requirement.inner.check(&self.inner).map_err(to_py))
    }

    /// Raises ScopeInsufficient unless the token grants the role policies, each
    /// `"rn:role"` or `"rn:role@tenant"` (all of them, or one with match="any"), read
    /// from `claim` (default `scope`; a name or a JSON Pointer).
    #[pyo3(
        signature = (roles, r#match = "all", claim = None),
        text_signature = "($self, roles, match='all', claim=None)"
    )]
    fn require_roles(
        &self,
        roles: &Bound<'_, PyAny>,
        r#match: &str,
        claim: Option<String>,
    ) -> PyResult<()> {
        guard(|| {
            let mut spec = serde_json::json!({"roles": scope_list(roles)?, "role_match": r#match});
            if let Some(claim) = claim {
                spec["role_claim"] = claim.into();
            }
            veritoken::Requirement::from_value(spec)
                .and_then(|r| r.check(&self.inner))
                .map_err(to_py)
        })
    }

    /// Every scope granted by `scope`, `scp` and `permissions`.
    fn granted_scopes(&self) -> PyResult<Vec<&str>> {
        guard(|| self.inner.granted_scopes().map_err(to_py))
    }

    /// Whether the token grants the scopes (all of them, or any one with match="any").
    #[pyo3(signature = (scopes, r#match = "all"), text_signature = "($self, scopes, match='all')")]
    fn has_scopes(&self, scopes: &Bound<'_, PyAny>, r#match: &str) -> PyResult<bool> {
        guard(|| {
            Ok(self
                .inner
                .has_scopes(&scope_list(scopes)?, scope_match(r#match)?))
        })
    }

    /// Raises ScopeInsufficient (or ClaimsInvalid for a malformed scope claim) unless the
    /// token grants the scopes.
    #[pyo3(signature = (scopes, r#match = "all"), text_signature = "($self, scopes, match='all')")]
    pub fn require_scopes(&self, scopes: &Bound<'_, PyAny>, r#match: &str) -> PyResult<()> {
        guard(|| {
            self.inner
                .require_scopes(&scope_list(scopes)?, scope_match(r#match)?)
                .map_err(to_py)
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "VerifiedToken(iss={:?}, sub={:?}, alg={})",
            self.inner.issuer(),
            self.inner.subject().unwrap_or(""),
            self.inner.algorithm().map_or("introspected", |a| a.name())
        )
    }
}
