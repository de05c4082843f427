//! What callers touch: the verifier, credential extraction and HTTP answers. The top layer.

pub mod extract;
pub mod http;
pub mod verifier;
