//! `veritoken verify`: the engine's verdict on one token.

use crate::{read_token, EXIT_USAGE};
use std::path::PathBuf;
use std::process::ExitCode;
use veritoken::{Algorithm, Config, Error, IssuerConfig, KeySource, PemKey, ScopeMatch, Verifier};

#[derive(clap::Args)]
pub struct Args {
    /// The token, or - to read it from standard input.
    token: String,
    /// A configuration file (.json, .toml, .yaml); excludes the issuer, audience, algorithm and key flags.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["issuer", "audience", "algorithms", "jwks", "pem", "jwks_uri", "discovery"])]
    config: Option<PathBuf>,
    /// A JWKS file with the verification keys.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// A PEM public key file.
    #[arg(long, value_name = "FILE")]
    pem: Option<PathBuf>,
    /// Fetch the keys from this JWKS URL (https; http only for loopback).
    #[arg(long, value_name = "URL", conflicts_with_all = ["jwks", "pem", "discovery"])]
    jwks_uri: Option<String>,
    /// Find the JWKS through OIDC discovery on the issuer.
    #[arg(long, conflicts_with_all = ["jwks", "pem"])]
    discovery: bool,
    /// The issuer `iss` must equal.
    #[arg(long, value_name = "ISS")]
    issuer: Option<String>,
    /// An accepted audience (repeat for several).
    #[arg(long, value_name = "AUD")]
    audience: Vec<String>,
    /// The algorithm allow-list, comma-separated (e.g. RS256,ES256).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    algorithms: Vec<String>,
    /// Clock skew tolerated, in seconds (overrides the config file's).
    #[arg(long, value_name = "S")]
    leeway: Option<u64>,
    /// Verify as if the time were this Unix time.
    #[arg(long, value_name = "UNIX")]
    now: Option<i64>,
    /// A scope the token must grant (repeat for several; all are required unless --any-scope).
    #[arg(long, value_name = "SCOPE")]
    scope: Vec<String>,
    /// One of the --scope values is enough.
    #[arg(long, requires = "scope")]
    any_scope: bool,
    /// The DPoP proof (the request's DPoP header) of a token sent with the DPoP scheme;
    /// without --config, this also turns DPoP on (mode "allowed").
    #[arg(long, value_name = "PROOF", requires_all = ["method", "url"])]
    dpop_proof: Option<String>,
    /// The request method the DPoP proof must name (htm).
    #[arg(long, value_name = "METHOD", requires = "dpop_proof")]
    method: Option<String>,
    /// The absolute URL the DPoP proof must name (htu).
    #[arg(long, value_name = "URL", requires = "dpop_proof")]
    url: Option<String>,
}

fn config_from_flags(args: &Args) -> Result<Config, String> {
    let issuer = args
        .issuer
        .clone()
        .ok_or("--issuer is required without --config")?;
    if args.audience.is_empty() {
        return Err("--audience is required without --config".into());
    }
    if args.algorithms.is_empty() {
        return Err("--algorithms is required without --config (e.g. --algorithms RS256)".into());
    }
    let algorithms = args
        .algorithms
        .iter()
        .map(|a| {
            Algorithm::from_name(a.trim()).ok_or_else(|| format!("unsupported algorithm {a:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut keys = Vec::new();
    if let Some(path) = &args.jwks {
        keys.push(KeySource::JwksFile(path.clone()));
    }
    if let Some(path) = &args.pem {
        keys.push(KeySource::Pem(PemKey {
            key: None,
            path: Some(path.clone()),
            kid: None,
            alg: None,
        }));
    }
    if keys.is_empty() && args.jwks_uri.is_none() && !args.discovery {
        return Err(
            "give the keys with --jwks, --pem, --jwks-uri or --discovery (or use --config)".into(),
        );
    }
    let mut config =
        Config::from_value(serde_json::json!({"issuers": []})).map_err(|e| e.to_string())?;
    config.issuers.push(IssuerConfig {
        issuer,
        audiences: args.audience.clone(),
        algorithms,
        keys,
        jwks_uri: args.jwks_uri.clone(),
        discovery: args.discovery,
        // One command, one fetch: wait for it rather than start without keys.
        jwks_cache: veritoken::JwksCacheConfig {
            wait_at_startup: true,
            ..Default::default()
        },
        require_exp: true,
        required_claims: Vec::new(),
        max_age: None,
        max_lifetime: None,
        typ: None,
        rules: Vec::new(),
        introspection: None,
    });
    if args.dpop_proof.is_some() {
        config.dpop.mode = veritoken::DpopMode::Allowed;
    }
    Ok(config)
}

fn build(args: &Args) -> Result<Verifier, Error> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => config_from_flags(args)
            .map_err(|e| Error::new(veritoken::ErrorCode::ConfigInvalid, e))?,
    };
    if let Some(leeway) = args.leeway {
        config.leeway = leeway;
    }
    Verifier::new(config)
}

fn verdict(verifier: &Verifier, token: &str, args: &Args) -> Result<serde_json::Value, Error> {
    let now = args.now.unwrap_or_else(veritoken::unix_now);
    let proof = match (&args.dpop_proof, &args.method, &args.url) {
        (Some(proof), Some(method), Some(url)) => Some(veritoken::DpopProof { proof, method, url }),
        _ => None,
    };
    let verified = verifier.verify_presented_at(token, proof.as_ref(), now)?;
    let mode = if args.any_scope {
        ScopeMatch::Any
    } else {
        ScopeMatch::All
    };
    verified.require_scopes(&args.scope, mode)?;
    Ok(serde_json::Value::Object(verified.into_claims()))
}

pub fn run(args: Args) -> ExitCode {
    // Warnings only (keys skipped from a key set, with the reason), on standard error; one
    // that standard error does not take is dropped (reporting that failure was an
    // `eprintln!`, which panics).
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .log_internal_errors(false)
        .init();
    let verifier = match build(&args) {
        Ok(v) => v,
        Err(e) => return crate::build_failed(&e),
    };
    let token = match read_token(&args.token) {
        Ok(t) => t,
        Err(e) => {
            report!("veritoken: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match verdict(&verifier, &token, &args) {
        Ok(claims) => crate::emit(
            &serde_json::to_string_pretty(&claims).unwrap_or_default(),
            ExitCode::SUCCESS,
        ),
        Err(e) => crate::emit(&veritoken::http::error_body(&e), ExitCode::from(1)),
    }
}
