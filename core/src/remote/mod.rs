//! What comes over the network: the HTTP fetch, remote key sets, token introspection and the Redis store. Above `config`.

pub mod fetch;
pub mod introspect;
pub mod jwks;
pub mod redis_store;
