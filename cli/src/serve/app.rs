//! The HTTP side: one route per protected path (GET/HEAD, as nginx `auth_request` calls it)
//! and the operations endpoints. Every decision comes from the engine; this file only turns
//! requests into engine calls and verdicts into responses.

use super::config::{ClientConfig, OriginalRequest, ServeConfig};
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
use veritoken::{ClaimPath, Error, ErrorCode, Requirement, SimpleRequest, VerifiedToken, Verifier};

pub struct Client {
    name: String,
    realm: String,
    verifier: Verifier,
    requirement: Requirement,
    optional: bool,
    claim_headers: Vec<(ClaimPath, HeaderName)>,
}

/// Each client's index with the paths it answers.
pub type Routes = Vec<(usize, Vec<String>)>;

pub struct App {
    clients: Vec<Client>,
    metrics: Metrics,
    timeout: Duration,
    max_header_bytes: usize,
    max_headers: usize,
    /// Whether each answer is logged ("auth request" lines).
    access_log: bool,
    /// Whether rejections carry their JSON body.
    error_body: bool,
    /// The headers that state the original request.
    original_request: OriginalRequest,
    next_request: AtomicU64,
}

impl App {
    /// Builds every client's verifier (remote keys start fetching in the background).
    pub fn new(config: ServeConfig) -> Result<(App, Routes), Error> {
        let max_header_bytes = config.header_limit();
        let max_headers = config.max_headers;
        let mut clients = Vec::new();
        let mut routes = Vec::new();
        for (i, c) in config.clients.into_iter().enumerate() {
            let requirement = c.requirement();
            let ClientConfig {
                name,
                paths,
                verifier,
                optional,
                claim_headers,
                realm,
                ..
            } = c;
            let verifier =
                Verifier::new(verifier).map_err(|e| e.context(format!("clients[{i}] ({name})")))?;
            let claim_headers = claim_headers
                .into_iter()
                .filter_map(|(claim, h)| {
                    // Both checked when the configuration loaded.
                    let path = ClaimPath::parse(&claim).ok()?;
                    Some((path, HeaderName::from_bytes(h.as_bytes()).ok()?))
                })
                .collect();
            routes.push((i, paths));
            clients.push(Client {
                realm: realm.unwrap_or_else(|| name.clone()),
                name,
                verifier,
                requirement,
                optional,
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
            max_header_bytes,
            max_headers,
            access_log: config.access_log,
            error_body: config.error_body,
            original_request: config.original_request,
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

    /// A request refused before any client saw it (no such path or method, or one the HTTP
    /// layer could not read): the same JSON body, access-log line and request counter as
    /// every other answer, under client "-".
    pub fn refused(
        &self,
        status: StatusCode,
        code: &str,
        message: &str,
        method: &str,
        path: &str,
    ) -> Response {
        let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
        let mut response = (
            status,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response();
        let request_id = format!("{:016x}", self.next_request.fetch_add(1, Ordering::Relaxed));
        self.log_refusal(&request_id, status, code, method, path);
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(code) {
            response.headers_mut().insert("x-veritoken-code", v);
        }
        response
    }

    /// Counts and logs a refusal that reached no client.
    pub fn log_refusal(
        &self,
        request_id: &str,
        status: StatusCode,
        code: &str,
        method: &str,
        path: &str,
    ) {
        self.metrics.observe("-", Some(code), 0.0);
        if !self.access_log {
            return;
        }
        tracing::info!(
            request_id = %request_id,
            client = "-",
            method = %veritoken_text_clip(method, 16),
            path = %veritoken_text_clip(path.split('?').next().unwrap_or(""), 200),
            status = status.as_u16(),
            code = code,
            subject = "",
            latency_us = 0u64,
            "auth request"
        );
    }

    /// The answer to a request the HTTP layer refused while reading it: headers past the
    /// limits are a malformed token (401 `token_malformed`, as everywhere else), anything
    /// else it could not parse is 400 `bad_request`. Returned as the full response bytes,
    /// the connection closing after it.
    pub fn http_refusal(&self, hyper_status: u16) -> Vec<u8> {
        let (status, code, message) = match hyper_status {
            431 | 414 => {
                let e = Error::new(
                    ErrorCode::TokenMalformed,
                    format!(
                        "request headers exceed {} bytes or {} lines",
                        self.max_header_bytes, self.max_headers
                    ),
                );
                let body = veritoken::http::error_body(&e);
                let challenge = veritoken::http::www_authenticate(&e, None).unwrap_or_default();
                let request_id =
                    format!("{:016x}", self.next_request.fetch_add(1, Ordering::Relaxed));
                self.log_refusal(
                    &request_id,
                    StatusCode::UNAUTHORIZED,
                    e.code().as_str(),
                    "-",
                    "-",
                );
                return format!(
                    "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncache-control: no-store\r\nwww-authenticate: {challenge}\r\nx-veritoken-code: {}\r\nx-request-id: {request_id}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                    e.code().as_str(),
                    body.len()
                )
                .into_bytes();
            }
            _ => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the request could not be read as HTTP/1.1",
            ),
        };
        let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
        let request_id = format!("{:016x}", self.next_request.fetch_add(1, Ordering::Relaxed));
        self.log_refusal(&request_id, status, code, "-", "-");
        format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncache-control: no-store\r\nx-veritoken-code: {code}\r\nx-request-id: {request_id}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
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
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

async fn not_found(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Response {
    app.refused(
        StatusCode::NOT_FOUND,
        "not_found",
        "no client is configured at this path",
        method.as_str(),
        uri.path(),
    )
}

async fn method_not_allowed(State(app): State<Arc<App>>, method: Method, uri: Uri) -> Response {
    let mut response = app.refused(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "auth requests are GET or HEAD",
        method.as_str(),
        uri.path(),
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
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

/// The headers of one family ([`OriginalRequest`]) that state the original request.
struct Family {
    method: &'static str,
    /// The path and query.
    uri: &'static str,
    /// The absolute URL, when the family states it whole.
    url: Option<&'static str>,
    /// How a missing method and URL are named to the operator.
    names: [&'static str; 2],
}

impl OriginalRequest {
    fn family(self) -> Family {
        match self {
            OriginalRequest::XOriginal => Family {
                method: "x-original-method",
                uri: "x-original-uri",
                url: Some("x-original-url"),
                names: ["X-Original-Method", "X-Original-URL"],
            },
            OriginalRequest::XForwarded => Family {
                method: "x-forwarded-method",
                uri: "x-forwarded-uri",
                url: None,
                names: [
                    "X-Forwarded-Method",
                    "X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri",
                ],
            },
        }
    }
}

/// A header's value as text (bytes that are not UTF-8 become U+FFFD, so a URL holding them
/// matches no proof: an unreadable header is never skipped for another one).
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The request the token is read from: every header, and the query of the ORIGINAL request
/// (the configured family's URI header, falling back to this subrequest's own). For DPoP,
/// the original method and absolute URL, as the proxy states them in that family only:
/// `X-Original-Method` and `X-Original-URL` (nginx), or `X-Forwarded-Method`, `-Proto`,
/// `-Host` and `-Uri` (Traefik, Caddy). The other family is never read: a client may send
/// it, and a proxy passes on what it does not set itself.
fn forwarded_request(family: OriginalRequest, uri: &Uri, headers: &HeaderMap) -> SimpleRequest {
    let family = family.family();
    let get = |name: &str| header_text(headers, name);
    let original = get(family.uri);
    let query = match &original {
        Some(o) => o.split_once('?').map(|(_, q)| q.to_owned()),
        None => uri.query().map(str::to_owned),
    };
    let url = match family.url {
        Some(name) => get(name),
        None => (|| {
            let (proto, host) = (get("x-forwarded-proto")?, get("x-forwarded-host")?);
            Some(format!("{proto}://{host}{}", original.as_deref()?))
        })(),
    };
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
        method: get(family.method),
        url,
    }
}

/// The path of the original request without its query (which may hold a token), for logs.
fn logged_path(family: OriginalRequest, uri: &Uri, headers: &HeaderMap) -> String {
    let original =
        header_text(headers, family.family().uri).unwrap_or_else(|| uri.path().to_owned());
    let path = original.split('?').next().unwrap_or("");
    veritoken_text_clip(path, 200)
}

fn veritoken_text_clip(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// With a DPoP proof in the request, the forwarded headers the proof is checked against
/// that are missing ("X-Original-Method and X-Original-URL", ...), if any.
fn missing_dpop_context(
    app: &App,
    client: &Client,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<String> {
    if client.verifier.dpop_mode() == veritoken::DpopMode::Disabled || !headers.contains_key("dpop")
    {
        return None;
    }
    let request = forwarded_request(app.original_request, uri, headers);
    let [method, url] = app.original_request.family().names;
    let missing: Vec<&str> = [
        (request.method.is_none(), method),
        (request.url.is_none(), url),
    ]
    .into_iter()
    .filter_map(|(absent, name)| absent.then_some(name))
    .collect();
    (!missing.is_empty()).then(|| missing.join(" and "))
}

/// The verified token, or `None` for a request without one on an optional client.
async fn judge(
    app: &App,
    client: &Client,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Option<VerifiedToken>, Error> {
    let result = client
        .verifier
        .verify_request_async(&forwarded_request(app.original_request, uri, headers))
        .await;
    let verified = match client.optional {
        true => veritoken::optional(result)?,
        false => Some(result?),
    };
    if let Some(token) = &verified {
        client.requirement.check(token)?;
    }
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
    } else if let Some(missing) = missing_dpop_context(app, client, uri, headers) {
        // A proxy that does not forward the original method and URL: a DPoP proof cannot
        // be checked. One clear line for the operator, a documented code for the client.
        tracing::error!(
            client = %client.name,
            missing = %missing,
            "a DPoP request came without {missing}: configure the proxy to send them (see the sidecar docs)"
        );
        Err(Error::for_claim(
            ErrorCode::DpopInvalid,
            "htu",
            format!("the proxy did not pass {missing}; the DPoP proof cannot be checked"),
        ))
    } else {
        match tokio::time::timeout(app.timeout, judge(app, client, uri, headers)).await {
            Ok(v) => v,
            Err(_) => Err(Error::new(
                ErrorCode::JwksUnavailable,
                "verification did not finish in time",
            )),
        }
    };
    let mut response = match &verdict {
        Ok(None) => Response::new(Body::empty()),
        Ok(Some(token)) => {
            let mut r = Response::new(Body::empty());
            for (claim, name) in &client.claim_headers {
                if let Some(value) = claim.find(token.claims()) {
                    if let Ok(v) =
                        HeaderValue::from_bytes(veritoken::http::header_value(value).as_bytes())
                    {
                        r.headers_mut().insert(name.clone(), v);
                    }
                }
            }
            r
        }
        Err(e) => denial(&client.verifier, e, &client.realm),
    };
    if method == Method::HEAD || (verdict.is_err() && !app.error_body) {
        *response.body_mut() = Body::empty();
    }
    let elapsed = started.elapsed();
    let code = verdict.as_ref().err().map(|e| e.code().as_str());
    app.metrics
        .observe(&client.name, code, elapsed.as_secs_f64());
    if app.access_log {
        tracing::info!(
            request_id = %request_id,
            client = %client.name,
            method = %method,
            path = %logged_path(app.original_request, uri, headers),
            status = response.status().as_u16(),
            code = code.unwrap_or("ok"),
            anonymous = matches!(verdict, Ok(None)),
            subject = verdict.as_ref().ok().and_then(Option::as_ref).and_then(|t| t.subject()).map(|s| veritoken_text_clip(s, 100)).unwrap_or_default(),
            latency_us = elapsed.as_micros() as u64,
            "auth request"
        );
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// A rejection: the engine's status, headers (RFC 6750 / RFC 9449 challenge, DPoP-Nonce)
/// and JSON body.
fn denial(verifier: &Verifier, error: &Error, realm: &str) -> Response {
    let status = StatusCode::from_u16(veritoken::http::status(error))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, veritoken::http::error_body(error)).into_response();
    response.headers_mut().insert(
        HeaderName::from_static("x-veritoken-code"),
        HeaderValue::from_static(error.code().as_str()),
    );
    for (name, value) in verifier.error_headers(error, Some(realm)) {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), v);
        }
    }
    response
}
