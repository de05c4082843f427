//! The token format: base64url, the strict JSON parser and scanner, JOSE headers and algorithm names. Above `support` only.

pub mod algorithm;
pub mod b64;
pub mod header_memo;
pub mod jose_header;
pub mod json_scanner;
pub(crate) mod members_memo;
pub(crate) mod percent;
pub mod strict_json;
