//! `veritoken inspect`: show what a token claims, loudly marked as unverified.

use crate::{read_token, EXIT_USAGE};
use serde_json::{json, Map, Value};
use std::fmt::Write as _;
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
    // Saturating: --now takes any i64 (i64::MIN overflowed the subtraction, a panic).
    let delta = (secs as i64).saturating_sub(now);
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

/// Whether `c` is a control character that serde_json leaves raw: DEL and the C1 controls
/// (U+009B is an 8-bit CSI, which terminals can obey as an escape sequence).
fn raw_control(c: char) -> bool {
    ('\u{7f}'..='\u{9f}').contains(&c)
}

/// Pretty JSON of untrusted token text, safe to print on a terminal: serde_json escapes the
/// C0 controls, and this DEL and C1 too. In JSON text these can only be inside a string,
/// where `\u009b` is the same character, so the JSON means the same.
fn terminal_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    if !text.contains(raw_control) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 32);
    for c in text.chars() {
        if raw_control(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

pub fn run(args: Args) -> ExitCode {
    let token = match read_token(&args.token) {
        Ok(t) => t,
        Err(e) => {
            report!("veritoken: {e}");
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
        Err(e) => return crate::emit(&veritoken::http::error_body(&e), ExitCode::from(1)),
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
        return crate::emit(&terminal_json(&out), ExitCode::SUCCESS);
    }
    // Written to a String (which cannot fail), then to standard output at once by `emit`.
    let mut out =
        String::from("UNVERIFIED: the signature, algorithm and claims were NOT checked.\n");
    let _ = writeln!(out, "\nHeader:\n{}", terminal_json(&decoded.header));
    let _ = match &decoded.claims {
        Some(c) => writeln!(out, "\nClaims:\n{}", terminal_json(c)),
        None => writeln!(
            out,
            "\nPayload: {} bytes, not a JSON object",
            decoded.payload_len
        ),
    };
    let t = times(&claims, now);
    if !t.is_empty() {
        let _ = writeln!(out, "\nTimes:");
        for (name, text) in &t {
            let _ = writeln!(out, "  {name:<9} {}", text.as_str().unwrap_or_default());
        }
    }
    let _ = write!(
        out,
        "\nSignature: {} bytes (not checked)",
        decoded.signature_len
    );
    crate::emit(&out, ExitCode::SUCCESS)
}
