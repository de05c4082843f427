//! `veritoken inspect`: show what a token claims, loudly marked as unverified.

use crate::{read_token, EXIT_USAGE};
use serde_json::{json, Map, Value};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(clap::Args)]
pub struct Args {
    /// The token, or - to read it from standard input.
    token: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Show times relative to this Unix time instead of now.
    #[arg(long, value_name = "UNIX")]
    now: Option<i64>,
}

const TIME_CLAIMS: [&str; 4] = ["iat", "nbf", "exp", "auth_time"];

/// "2026-01-01T00:00:00Z (in 1h 2m)" for a NumericDate, relative to `now`.
fn describe_time(value: &Value, now: i64) -> Option<String> {
    let secs = value.as_f64()?;
    if !(0.0..=253_402_300_799.0).contains(&secs) {
        return Some(format!("{secs} (out of range)"));
    }
    let at = UNIX_EPOCH + Duration::from_secs(secs as u64);
    let stamp = humantime::format_rfc3339_seconds(at);
    let delta = secs as i64 - now;
    let span = humantime::format_duration(Duration::from_secs(delta.unsigned_abs()));
    Some(match delta {
        0 => format!("{stamp} (now)"),
        d if d > 0 => format!("{stamp} (in {span})"),
        _ => format!("{stamp} ({span} ago)"),
    })
}

fn times(claims: &Map<String, Value>, now: i64) -> Map<String, Value> {
    TIME_CLAIMS
        .iter()
        .filter_map(|name| {
            Some((
                name.to_string(),
                Value::String(describe_time(claims.get(*name)?, now)?),
            ))
        })
        .collect()
}

pub fn run(args: Args) -> ExitCode {
    let token = match read_token(&args.token) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("veritoken: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let now = args.now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    });
    let decoded = match veritoken::decode_unverified(&token) {
        Ok(d) => d,
        Err(e) => {
            println!("{}", veritoken::http::error_body(&e));
            return ExitCode::from(1);
        }
    };
    let claims = decoded.claims.clone().unwrap_or_default();
    if args.json {
        let out = json!({
            "verified": false,
            "header": decoded.header,
            "claims": decoded.claims,
            "times": times(&claims, now),
            "signature_bytes": decoded.signature_len,
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    println!("UNVERIFIED: the signature, algorithm and claims were NOT checked.");
    println!(
        "\nHeader:\n{}",
        serde_json::to_string_pretty(&decoded.header).unwrap_or_default()
    );
    match &decoded.claims {
        Some(c) => println!(
            "\nClaims:\n{}",
            serde_json::to_string_pretty(c).unwrap_or_default()
        ),
        None => println!(
            "\nPayload: {} bytes, not a JSON object",
            decoded.payload_len
        ),
    }
    let t = times(&claims, now);
    if !t.is_empty() {
        println!("\nTimes:");
        for (name, text) in &t {
            println!("  {name:<9} {}", text.as_str().unwrap_or_default());
        }
    }
    println!("\nSignature: {} bytes (not checked)", decoded.signature_len);
    ExitCode::SUCCESS
}
