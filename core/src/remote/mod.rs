//! What comes over the network: the HTTP fetch, remote key sets, token introspection and the Redis store. Above `config`.

pub mod fetch;
pub mod introspect;
pub mod jwks;
pub mod redis_store;

/// SHA-256 of `bytes`: what tells two key set documents apart, and the key under which an
/// introspection answer is cached instead of its token.
fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}
