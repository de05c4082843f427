//! The HTTP side: one route per protected path (GET/HEAD, as nginx `auth_request` calls it)
//! and the operations endpoints. Every decision comes from the engine; this file only turns
//! requests into engine calls and verdicts into responses.

use super::config::{ClientConfig, ServeConfig};
use super::metrics::Metrics;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, on, MethodFilter};
use axum::Router;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use veritoken::{Error, ErrorCode, ScopeMatch, SimpleRequest, Verifier};

pub struct Client {
    name: String,
    realm: String,
    verifier: Verifier,
    required_scopes: Vec<String>,
    scope_match: ScopeMatch,
    claim_headers: Vec<(String, HeaderName)>,
}

/// Each client's index with the paths it answers.
pub type Routes = Vec<(usize, Vec<String>)>;

pub struct App {
    clients: Vec<Client>,
    metrics: Metrics,
    timeout: Duration,
    max_header_bytes: usize,
    next_request: AtomicU64,
}

impl App {
    /// Builds every client's verifier (remote keys start fetching in the background).
    pub fn new(config: ServeConfig) -> Result<(App, Routes), Error> {
        let mut clients = Vec::new();
        let mut routes = Vec::new();
        for (i, c) in config.clients.into_iter().enumerate() {
            let ClientConfig {
                name,
                paths,
                verifier,
                required_scopes,
                scope_match,
                claim_headers,
                realm,
            } = c;
            let verifier =
                Verifier::new(verifier).map_err(|e| e.context(format!("clients[{i}] ({name})")))?;
            let claim_headers = claim_headers
                .into_iter()
                .filter_map(|(claim, h)| Some((claim, HeaderName::from_bytes(h.as_bytes()).ok()?)))
                .collect();
            routes.push((i, paths));
            clients.push(Client {
                realm: realm.unwrap_or_else(|| name.clone()),
                name,
                verifier,
                required_scopes,
                scope_match,
                claim_headers,
            });
        }
        let metrics = Metrics::new(
            clients
                .iter()
                .map(|c| (c.name.clone(), c.verifier.clone()))
                .collect(),
        );
        let app = App {
            clients,
            metrics,
            timeout: Duration::from_millis(config.request_timeout_ms),
            max_header_bytes: config.max_header_bytes,
            next_request: AtomicU64::new(1),
        };
        Ok((app, routes))
    }

    /// Every client's keys are usable and its Redis replay store (if any) answers `PING`.
    pub async fn is_ready(&self) -> bool {
        for client in &self.clients {
            if !client.verifier.check_ready().await {
                return false;
            }
        }
        true
    }
}

/// The router: client paths plus `/healthz`, `/readyz` and `/metrics`.
pub fn router(app: Arc<App>, routes: Routes) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    for (index, paths) in routes {
        for path in paths {
            let handler = move |State(app): State<Arc<App>>,
                                method: Method,
                                uri: Uri,
                                headers: HeaderMap| async move {
                authorize(&app, index, &method, &uri, &headers).await
            };
            router = router.route(&path, on(MethodFilter::GET.or(MethodFilter::HEAD), handler));
        }
    }
    router.with_state(app)
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.is_ready().await {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "keys not loaded or too old, or the replay store (Redis) unreachable\n",
        )
            .into_response()
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], app.metrics.render()).into_response()
}

/// The request the token is read from: every header, and the query of the ORIGINAL request
/// (nginx passes it as `X-Original-URI`), falling back to this subrequest's own. For DPoP,
/// the original method and absolute URL, as the proxy states them: `X-Original-Method` and
/// `X-Original-URL` (nginx), or Traefik's `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`.
fn forwarded_request(uri: &Uri, headers: &HeaderMap) -> SimpleRequest {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let original = get("x-original-uri").or(get("x-forwarded-uri"));
    let query = match original {
        Some(o) => o.split_once('?').map(|(_, q)| q.to_owned()),
        None => uri.query().map(str::to_owned),
    };
    let method = get("x-original-method")
        .or(get("x-forwarded-method"))
        .map(str::to_owned);
    let url = get("x-original-url").map(str::to_owned).or_else(|| {
        let (proto, host, path) = (
            get("x-forwarded-proto")?,
            get("x-forwarded-host")?,
            get("x-forwarded-uri")?,
        );
        Some(format!("{proto}://{host}{path}"))
    });
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    SimpleRequest {
        headers,
        query,
        method,
        url,
    }
}

/// The path of the original request without its query (which may hold a token), for logs.
fn logged_path(uri: &Uri, headers: &HeaderMap) -> String {
    let original = headers
        .get("x-original-uri")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(uri.path());
    let path = original.split('?').next().unwrap_or("");
    veritoken_text_clip(path, 200)
}

fn veritoken_text_clip(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

async fn judge(
    client: &Client,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<veritoken::VerifiedToken, Error> {
    let verified = client
        .verifier
        .verify_request_async(&forwarded_request(uri, headers))
        .await?;
    verified.require_scopes(&client.required_scopes, client.scope_match)?;
    Ok(verified)
}

async fn authorize(
    app: &App,
    index: usize,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    let started = Instant::now();
    let client = &app.clients[index];
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| veritoken_text_clip(v, 64))
        .unwrap_or_else(|| format!("{:016x}", app.next_request.fetch_add(1, Ordering::Relaxed)));
    let header_bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    let verdict = if header_bytes > app.max_header_bytes {
        Err(Error::new(
            ErrorCode::TokenMalformed,
            format!("request headers exceed {} bytes", app.max_header_bytes),
        ))
    } else {
        match tokio::time::timeout(app.timeout, judge(client, uri, headers)).await {
            Ok(v) => v,
            Err(_) => Err(Error::new(
                ErrorCode::JwksUnavailable,
                "verification did not finish in time",
            )),
        }
    };
    let mut response = match &verdict {
        Ok(token) => {
            let mut r = Response::new(Body::empty());
            for (claim, name) in &client.claim_headers {
                if let Some(value) = token.claims().get(claim) {
                    if let Ok(v) =
                        HeaderValue::from_bytes(veritoken::http::header_value(value).as_bytes())
                    {
                        r.headers_mut().insert(name.clone(), v);
                    }
                }
            }
            r
        }
        Err(e) => denial(
            &client.verifier,
            e,
            &client.realm,
            header_bytes > app.max_header_bytes,
        ),
    };
    if method == Method::HEAD {
        *response.body_mut() = Body::empty();
    }
    let elapsed = started.elapsed();
    let code = verdict.as_ref().err().map(|e| e.code().as_str());
    app.metrics
        .observe(&client.name, code, elapsed.as_secs_f64());
    tracing::info!(
        request_id = %request_id,
        client = %client.name,
        method = %method,
        path = %logged_path(uri, headers),
        status = response.status().as_u16(),
        code = code.unwrap_or("ok"),
        subject = verdict.as_ref().ok().and_then(|t| t.subject()).map(|s| veritoken_text_clip(s, 100)).unwrap_or_default(),
        latency_us = elapsed.as_micros() as u64,
        "auth request"
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// A rejection: the engine's status, headers (RFC 6750 / RFC 9449 challenge, DPoP-Nonce)
/// and JSON body.
fn denial(verifier: &Verifier, error: &Error, realm: &str, headers_too_large: bool) -> Response {
    let status = if headers_too_large {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    } else {
        StatusCode::from_u16(veritoken::http::status(error))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    };
    let mut response = (status, veritoken::http::error_body(error)).into_response();
    for (name, value) in verifier.error_headers(error, Some(realm)) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), v);
        }
    }
    response
}
