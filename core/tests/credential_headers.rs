//! `Verifier::credential_header_names`: the headers token extraction reads. Bindings copy
//! only those across their language boundary, so for every configuration and request here,
//! extracting from just those headers must give exactly what the whole request gives.

use serde_json::{json, Value};
use veritoken::{Config, SimpleRequest, Verifier};

fn verifier(extra: Value) -> Verifier {
    let mut config = json!({"issuers": [{
        "issuer": "https://issuer.test",
        "audiences": ["api"],
        "algorithms": ["HS256"],
        "keys": [{"secret": {"value": "0123456789abcdef0123456789abcdef", "alg": "HS256"}}],
    }]});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    Verifier::new(Config::from_value(config).unwrap()).unwrap()
}

fn configs() -> Vec<(Value, Vec<&'static str>)> {
    let custom = json!([
        {"header": {"name": "X-Api-Token", "prefix": "Token "}},
        {"cookie": {"name": "at"}},
        {"query": {"name": "access_token"}},
        {"header": {"name": "authorization", "scheme": "Bearer"}},
    ]);
    vec![
        (json!({}), vec!["authorization"]),
        (
            json!({"token_sources": custom}),
            vec!["x-api-token", "cookie", "authorization"],
        ),
        (
            json!({"dpop": {"mode": "allowed"}}),
            vec!["authorization", "dpop"],
        ),
        (
            json!({"dpop": {"mode": "required"}, "token_sources": [{"cookie": {"name": "at"}}]}),
            vec!["authorization", "dpop", "cookie"],
        ),
        (json!({"token_sources": [{"query": {"name": "t"}}]}), vec![]),
    ]
}

fn requests() -> Vec<SimpleRequest> {
    let noise = [
        ("Host", "api.test"),
        ("User-Agent", "curl/8"),
        ("Accept", "*/*"),
        ("X-Forwarded-For", "203.0.113.7"),
        ("Authorisation", "Bearer not-this-one"),
        ("DPoP-Nonce", "n"),
    ];
    let sets: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("Authorization", "Bearer t1")],
        vec![
            ("AUTHORIZATION", "bearer t1"),
            ("authorization", "Bearer t2"),
        ],
        vec![("Authorization", "Basic dTpw")],
        vec![("x-api-token", "Token t3"), ("Cookie", "a=1; at=t4")],
        vec![
            ("X-API-TOKEN", "t3"),
            ("cookie", "at=t4"),
            ("Cookie", "at=t5"),
        ],
        vec![("Cookie", "at=t4")],
        vec![("Authorization", "DPoP t6"), ("DPoP", "a.b.c")],
        vec![("Authorization", "DPoP t6")],
        vec![
            ("Authorization", "DPoP t6"),
            ("dpop", "a.b.c"),
            ("DPOP", "d.e.f"),
        ],
        vec![("Authorization", "Bearer bad token")],
    ];
    let mut out = Vec::new();
    for set in sets {
        for query in [None, Some("access_token=q1&t=q2")] {
            let mut headers: Vec<(String, String)> = Vec::new();
            for (i, (k, v)) in set.iter().enumerate() {
                headers.push((
                    noise[i % noise.len()].0.into(),
                    noise[i % noise.len()].1.into(),
                ));
                headers.push(((*k).into(), (*v).into()));
            }
            headers.extend(noise.iter().map(|(k, v)| ((*k).into(), (*v).into())));
            out.push(SimpleRequest {
                headers,
                query: query.map(Into::into),
                method: Some("GET".into()),
                url: Some("https://api.test/x".into()),
            });
        }
    }
    out
}

/// The outcome of extraction, comparable: the token and proof, or the error's code and text.
fn outcome(v: &Verifier, req: &SimpleRequest) -> Result<(String, Option<String>), String> {
    v.extract_credential(req)
        .map(|c| (c.token, c.proof))
        .map_err(|e| format!("{}: {}", e.code().as_str(), e.message()))
}

#[test]
fn the_names_are_the_configured_sources_lowercase() {
    for (extra, expected) in configs() {
        assert_eq!(
            verifier(extra.clone()).credential_header_names(),
            expected,
            "{extra}"
        );
    }
}

#[test]
fn only_those_headers_decide_the_credential() {
    let (mut kept_total, mut all_total, mut tokens) = (0, 0, 0);
    for (extra, _) in configs() {
        let v = verifier(extra);
        let names = v.credential_header_names();
        for req in requests() {
            let filtered = SimpleRequest {
                headers: req
                    .headers
                    .iter()
                    .filter(|(k, _)| names.iter().any(|n| n.eq_ignore_ascii_case(k)))
                    .cloned()
                    .collect(),
                ..req.clone()
            };
            kept_total += filtered.headers.len();
            all_total += req.headers.len();
            let whole = outcome(&v, &req);
            tokens += usize::from(whole.is_ok());
            assert_eq!(outcome(&v, &filtered), whole, "{:?}", req.headers);
        }
    }
    // Not vacuous: most headers were dropped, and both tokens and refusals were compared.
    assert!(
        kept_total * 3 < all_total,
        "{kept_total} of {all_total} kept"
    );
    assert!(tokens > 10 && tokens < 100, "{tokens} tokens found");
}
