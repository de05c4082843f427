//! Keys and signatures: JWK/PEM key sets, HMAC keys, and the JWS check against a key set. Above `format`.

pub mod hmac_key;
pub mod jws;
pub mod key_set;
