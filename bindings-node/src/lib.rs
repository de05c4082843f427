//! veritoken for Node: the native half. It converts types and reports errors; every rule
//! lives in `veritoken`. `index.js` wraps it into the public API (error classes, camelCase
//! configuration, promises, middlewares).
//!
//! A rejection crosses into JS as an Error whose message is the JSON
//! `{"code","message","claim"}`; `index.js` turns it into a `VeritokenError` with `err.code`.
//! Every export catches panics, never aborting the process: the bound calls
//! (`bound_calls.rs`) throw a caught panic as the engine's `internal` error ([`panic_error`]);
//! the `#[napi(catch_unwind)]` exports throw napi-rs's `GenericFailure` with the panic's text,
//! which `index.js` maps to `internal` as well (napi-rs raises `GenericFailure` only for a
//! failure inside the addon, never for a bad argument).

use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;
use std::sync::Arc;
use string_io::{Answer, Text, Token};
use veritoken::{unix_now, Config, DpopProof, Format, ScopeMatch, SimpleRequest};

mod bound_calls;
mod layout;
// `pub`: its exports are reached only through napi's registration, which the test build lacks.
pub mod logging;
mod string_io;

fn js_error(e: veritoken::Error) -> napi::Error {
    let detail = serde_json::json!({
        "code": e.code().as_str(),
        "message": e.message(),
        "claim": e.claim(),
    });
    napi::Error::new(Status::GenericFailure, detail.to_string())
}

/// A caught panic as the engine's `internal` error (the same message as the Python binding's).
pub(crate) fn panic_error(panic: Box<dyn std::any::Any + Send>) -> napi::Error {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into());
    js_error(veritoken::Error::new(
        veritoken::ErrorCode::Internal,
        format!("internal error (a bug; please report it): panic: {what}"),
    ))
}

/// Panics on purpose, so the tests can check that a panic in an export becomes a JS
/// exception rather than an abort. `next_bound_call` makes the next call of a bound
/// function (`verifySync`, `tryVerify`, `extractCredential`; see bound_calls.rs) panic instead.
#[napi(catch_unwind)]
pub fn panic_for_tests(next_bound_call: bool) -> Result<()> {
    bound_calls::panic_next(next_bound_call);
    if !next_bound_call {
        panic!("a panic for the tests");
    }
    Ok(())
}

/// A verifier (shared by every call on this thread and by waits on the engine's I/O thread).
#[napi]
pub struct NativeVerifier {
    inner: Arc<veritoken::Verifier>,
}

fn claims_map(claims_json: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    serde_json::from_str(claims_json)
        .map_err(|_| napi::Error::new(Status::InvalidArg, "claimsJson is not a JSON object"))
}

/// Throws unless the claims grant the scopes (all, or any when `any` is true).
#[napi(catch_unwind)]
pub fn require_scopes(claims_json: String, scopes: Vec<String>, any: bool) -> Result<()> {
    let mode = if any {
        ScopeMatch::Any
    } else {
        ScopeMatch::All
    };
    veritoken::require_scopes(&claims_map(&claims_json)?, &scopes, mode).map_err(js_error)
}

/// A route requirement (scopes, role policies, claim rules), parsed once per route.
#[napi]
pub struct NativeRequirement {
    inner: veritoken::Requirement,
}

#[napi]
impl NativeRequirement {
    /// From the requirement as JSON text (snake_case keys; index.js converts camelCase).
    #[napi(constructor, catch_unwind)]
    pub fn new(requirement_json: String) -> Result<Self> {
        let inner =
            veritoken::Requirement::parse(&requirement_json, Format::Json).map_err(js_error)?;
        Ok(NativeRequirement { inner })
    }

    /// Throws unless the claims meet the requirement (a failing rule names its claim).
    #[napi(catch_unwind)]
    pub fn check(&self, claims_json: String) -> Result<()> {
        self.inner
            .check_claims(&claims_map(&claims_json)?)
            .map_err(js_error)
    }
}

/// Whether a rejection with this code lets a request go on anonymously on an optional
/// route (the engine's rule, `veritoken::optional`).
#[napi]
pub fn is_anonymous(code: String) -> bool {
    veritoken::ErrorCode::from_name(&code).is_some_and(|code| {
        matches!(
            veritoken::optional::<()>(Err(veritoken::Error::new(code, ""))),
            Ok(None)
        )
    })
}

/// Every scope the claims grant (`scope`, `scp`, `permissions`).
#[napi(catch_unwind)]
pub fn granted_scopes(claims_json: String) -> Result<Vec<String>> {
    let claims = claims_map(&claims_json)?;
    Ok(veritoken::granted_scopes(&claims)
        .map_err(js_error)?
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// The engine's reading of a token's registered claims (`veritoken::ClaimAccessors`) as
/// JSON text with its snake_case names: what `VerifiedToken`'s getters give, so that no
/// rule of theirs lives in JS. Text, because V8 parses it in a fraction of what building
/// the object through napi cost (a getter took ~4 µs). Dates are whole seconds within a JS
/// Date's range; `scopes` is null and `scopes_error` a code when a scope claim is malformed.
#[napi(catch_unwind)]
pub fn claim_accessors(claims_json: String) -> Result<String> {
    veritoken::claim_accessors_json(&claims_json).map_err(js_error)
}

fn now_or(now: Option<Seconds>) -> i64 {
    now.map_or_else(unix_now, |Seconds(now)| now)
}

/// A `now` argument: whole Unix seconds, a safe integer (|now| ≤ 2^53 − 1, every one of
/// which a JS number holds exactly). napi's own `i64` conversion reads NaN and ±Infinity
/// as 0 and drops a fraction, which verified as of 1970; anything but a whole number in
/// range is refused instead.
pub struct Seconds(i64);

impl TypeName for Seconds {
    fn type_name() -> &'static str {
        "Number"
    }

    fn value_type() -> ValueType {
        ValueType::Number
    }
}

impl ValidateNapiValue for Seconds {}

impl FromNapiValue for Seconds {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        /// `Number.MAX_SAFE_INTEGER`.
        const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
        let mut seconds = 0f64;
        // SAFETY: `env` and `value` come from napi for this call; napi writes the number or
        // fails (a value that is not a number).
        let status = unsafe { sys::napi_get_value_double(env, value, &mut seconds) };
        if status != sys::Status::napi_ok {
            return Err(Error::new(
                Status::NumberExpected,
                "now must be a number (whole Unix seconds)",
            ));
        }
        if !(seconds.is_finite() && seconds.fract() == 0.0 && seconds.abs() <= MAX_SAFE) {
            return Err(Error::new(
                Status::InvalidArg,
                format!("now must be whole seconds within ±(2^53 - 1), not {seconds}"),
            ));
        }
        // Exact: a whole number within ±2^53.
        Ok(Seconds(seconds as i64))
    }
}

/// A DPoP proof (the request's `DPoP` header) with the request's method and absolute URL.
#[napi(object)]
#[derive(Clone)]
pub struct DpopArgs {
    pub proof: String,
    pub method: String,
    pub url: String,
}

impl DpopArgs {
    fn proof(&self) -> DpopProof<'_> {
        DpopProof {
            proof: &self.proof,
            method: &self.method,
            url: &self.url,
        }
    }
}

/// A request's token and, when it came with the DPoP scheme, its proof.
#[napi(object)]
pub struct NativeCredential {
    pub token: String,
    pub dpop: Option<DpopArgs>,
}

/// What the bound `extractCredential` runs.
fn extract_credential(
    verifier: &veritoken::Verifier,
    names: Vec<Text>,
    values: Vec<Text>,
    query: Option<Text>,
    method: Option<Text>,
    url: Option<Text>,
) -> Result<NativeCredential> {
    let text = |t: Text| t.0;
    let request = request(
        names.into_iter().map(text).collect(),
        values.into_iter().map(text).collect(),
        query.map(text),
        method.map(text),
        url.map(text),
    );
    let credential = verifier.extract_credential(&request).map_err(js_error)?;
    let dpop = credential
        .dpop_proof(&request)
        .map_err(js_error)?
        .map(|p| DpopArgs {
            proof: p.proof.to_owned(),
            method: p.method.to_owned(),
            url: p.url.to_owned(),
        });
    Ok(NativeCredential {
        token: credential.token.clone(),
        dpop,
    })
}

fn verify_blocking(
    verifier: &veritoken::Verifier,
    token: &str,
    dpop: Option<&DpopArgs>,
    now: i64,
) -> Result<veritoken::VerifiedToken> {
    let proof = dpop.map(DpopArgs::proof);
    verifier
        .verify_presented_at(token, proof.as_ref(), now)
        .map_err(js_error)
}

#[napi]
impl NativeVerifier {
    /// From the configuration as JSON text (snake_case keys; index.js converts camelCase).
    #[napi(constructor, catch_unwind)]
    pub fn new(config_json: String) -> Result<Self> {
        let config = Config::parse(&config_json, Format::Json).map_err(js_error)?;
        let verifier = veritoken::Verifier::new(config).map_err(js_error)?;
        Ok(NativeVerifier {
            inner: Arc::new(verifier),
        })
    }

    #[napi(factory, catch_unwind)]
    pub fn from_file(path: String) -> Result<Self> {
        let verifier = veritoken::Verifier::from_file(&path).map_err(js_error)?;
        Ok(NativeVerifier {
            inner: Arc::new(verifier),
        })
    }

    /// Verifies when keys (or an introspection answer) must be fetched first, which
    /// `tryVerify` reports: the wait runs as a task of the engine's I/O thread, which
    /// settles the promise through a threadsafe function, so no libuv pool thread is held
    /// while keys are fetched.
    #[napi(
        catch_unwind,
        ts_args_type = "token: string, now?: number | undefined | null, dpop?: DpopArgs | undefined | null",
        ts_return_type = "Promise<string>"
    )]
    pub fn verify_deferred<'env>(
        &self,
        env: &'env Env,
        token: Token,
        now: Option<Seconds>,
        dpop: Option<DpopArgs>,
    ) -> Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred::<Answer, _>()?;
        let proof = dpop.map(|d| veritoken::OwnedDpopProof {
            proof: d.proof,
            method: d.method,
            url: d.url,
        });
        self.inner
            .verify_in_background(token.0, proof, now_or(now), move |result| match result {
                Ok(verified) => deferred.resolve(move |_| Ok(Answer(verified))),
                Err(e) => deferred.reject(js_error(e)),
            })
            .map_err(js_error)?;
        Ok(promise)
    }

    /// The calls every request makes, bound to this verifier (index.js asks once per
    /// verifier; see `bound_calls.rs`). `verifySync` and `tryVerify` return the header JSON,
    /// U+0001, the claims JSON, and maybe U+0001 and the claims' shape, whose numbers they
    /// write to `layout` (a `Float64Array`; see `layout.rs`); `tryVerify` returns `null`
    /// when keys must be fetched first (the fetch is started; `verifyDeferred` then waits for
    /// it off the event loop). `dpop`: the proof of a token sent with the DPoP scheme.
    /// `extractCredential`: the token of a request and, with the DPoP scheme, its proof
    /// with the request's method and URL (which must then be given).
    #[napi(
        catch_unwind,
        ts_args_type = "layout: Float64Array",
        ts_return_type = "{ verifySync: (token: string, now?: number | undefined | null, dpop?: DpopArgs | undefined | null) => string; tryVerify: (token: string, now?: number | undefined | null, dpop?: DpopArgs | undefined | null) => string | null; extractCredential: (names: Array<string>, values: Array<string>, query?: string | undefined | null, method?: string | undefined | null, url?: string | undefined | null) => NativeCredential }"
    )]
    pub fn verify_calls(&self, env: Env, layout: Unknown) -> Result<Object<'static>> {
        bound_calls::verify_calls(&env, &self.inner, &layout)
    }

    /// The request headers the extraction reads (lowercase); index.js passes only these,
    /// since copying every header of a request into Rust cost more than the verification.
    #[napi(catch_unwind)]
    pub fn credential_header_names(&self) -> Vec<String> {
        self.inner.credential_header_names()
    }

    /// The token of a request per the configured token sources.
    #[napi(catch_unwind)]
    pub fn extract_token(
        &self,
        names: Vec<String>,
        values: Vec<String>,
        query: Option<String>,
    ) -> Result<String> {
        let request = request(names, values, query, None, None);
        self.inner.extract_token(&request).map_err(js_error)
    }

    /// What a middleware answers this verifier's rejection with (its DPoP challenge and
    /// nonce included).
    #[napi(catch_unwind)]
    pub fn error_response(
        &self,
        code: String,
        message: String,
        claim: Option<String>,
        realm: Option<String>,
    ) -> ErrorResponse {
        let error = rebuild(code, message, claim);
        let headers = self.inner.error_headers(&error, realm.as_deref());
        response(&error, headers)
    }

    #[napi(catch_unwind)]
    pub fn metrics_json(&self) -> Result<String> {
        serde_json::to_string(&self.inner.metrics())
            .map_err(|e| napi::Error::from_reason(e.to_string()))
    }

    /// Each engine metric family's value, in `metricFamilies()` order (`prometheus.js`).
    #[napi(catch_unwind)]
    pub fn metric_values(&self) -> Vec<f64> {
        let snapshot = self.inner.metrics();
        veritoken::ENGINE_FAMILIES
            .iter()
            .map(|f| f.read(&snapshot).unwrap_or(0) as f64)
            .collect()
    }

    #[napi(catch_unwind)]
    pub fn is_ready(&self) -> bool {
        self.inner.is_ready()
    }
}

/// What the bound `verifySync` runs: verifies on this thread; waits for a key fetch if one
/// is needed.
fn verify_sync(
    verifier: &veritoken::Verifier,
    token: &str,
    now: Option<Seconds>,
    dpop: Option<DpopArgs>,
) -> Result<Option<veritoken::VerifiedToken>> {
    verify_blocking(verifier, token, dpop.as_ref(), now_or(now)).map(Some)
}

/// What the bound `tryVerify` runs: verifies without waiting, `None` when keys must be
/// fetched first.
fn try_verify(
    verifier: &veritoken::Verifier,
    token: &str,
    now: Option<Seconds>,
    dpop: Option<DpopArgs>,
) -> Result<Option<veritoken::VerifiedToken>> {
    let proof = dpop.as_ref().map(DpopArgs::proof);
    match verifier.try_verify_at(token, proof.as_ref(), now_or(now)) {
        None => Ok(None),
        Some(result) => result.map(Some).map_err(js_error),
    }
}

/// A request from the header lists, raw query, method and URL the JS side passes.
fn request(
    names: Vec<String>,
    values: Vec<String>,
    query: Option<String>,
    method: Option<String>,
    url: Option<String>,
) -> SimpleRequest {
    SimpleRequest {
        headers: names.into_iter().zip(values).collect(),
        query: query.filter(|q| !q.is_empty()),
        method,
        url,
    }
}

/// What every veritoken middleware answers for a rejection.
#[napi(object)]
pub struct ErrorResponse {
    pub status: u32,
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// The status, RFC 6750 challenge and JSON body for an error code, message and claim.
#[napi(catch_unwind)]
pub fn error_response(
    code: String,
    message: String,
    claim: Option<String>,
    realm: Option<String>,
) -> ErrorResponse {
    let error = rebuild(code, message, claim);
    let headers = veritoken::http::error_headers(&error, realm.as_deref());
    response(&error, headers)
}

/// An engine error from what a `VeritokenError` carries.
fn rebuild(code: String, message: String, claim: Option<String>) -> veritoken::Error {
    let code = veritoken::ErrorCode::from_name(&code).unwrap_or(veritoken::ErrorCode::Internal);
    match claim {
        Some(claim) => veritoken::Error::for_claim(code, &claim, message),
        None => veritoken::Error::new(code, message),
    }
}

fn response(error: &veritoken::Error, headers: Vec<(&'static str, String)>) -> ErrorResponse {
    ErrorResponse {
        status: u32::from(veritoken::http::status(error)),
        headers: headers
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
        body: veritoken::http::error_body(error),
    }
}

/// The engine's version (the workspace version every veritoken package carries).
/// One metric family of core's table: the names the sidecar's `/metrics` serves.
#[napi(object)]
pub struct MetricFamilyInfo {
    pub name: String,
    pub help: String,
    /// "counter" or "histogram".
    pub kind: String,
    /// The name of its samples (counters end in `_total`).
    pub sample_name: String,
    /// "engine" (every verifier has it) or "sidecar" (per auth request, the sidecar's own).
    pub source: String,
}

#[napi(catch_unwind)]
pub fn metric_families() -> Vec<MetricFamilyInfo> {
    let row = |source: &'static str| {
        move |f: &veritoken::MetricFamily| MetricFamilyInfo {
            name: f.name.to_owned(),
            help: f.help.to_owned(),
            kind: f.kind.as_str().to_owned(),
            sample_name: f.sample_name(),
            source: source.to_owned(),
        }
    };
    let engine = veritoken::ENGINE_FAMILIES.iter().map(row("engine"));
    engine
        .chain(veritoken::SIDECAR_FAMILIES.iter().map(row("sidecar")))
        .collect()
}

#[napi(catch_unwind)]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Every error code with its HTTP status, for the JS error classes.
#[napi(catch_unwind)]
pub fn error_codes() -> Vec<String> {
    veritoken::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect()
}
