//! A test identity provider on loopback, for veritoken's tests in every language and for
//! users' own tests. It serves OIDC discovery, a JWKS with key rotation, a client-credentials
//! token endpoint, RFC 7662 introspection, and faults switched on over HTTP (or through this
//! API): down, delay, HTTP 500, garbage, oversized body, redirect loop, wrong content type,
//! and chosen `Cache-Control` / `ETag` behaviour.
//!
//! In-process (Rust): [`TestIdp::start`]; [`TestIdp::stop`] / [`TestIdp::restart`] make the
//! port refuse connections and come back on the same port. As a process: the
//! `veritoken-testidp` binary prints its base URL on stdout once it is ready.
//!
//! [`redis::RedisServer`] runs a throwaway `redis-server` for tests of the shared replay store.
//!
//! Admin endpoints (JSON): `POST /admin/keys {"alg"}` adds a key and returns its kid;
//! `DELETE /admin/keys/{kid}` retires one; `POST /admin/fault {"mode", "delay_ms"}`;
//! `POST /admin/cache {"max_age", "etag"}`; `GET /admin/stats`; `POST /admin/reset`.

pub mod keys;
pub mod redis;
mod server;

pub use server::{
    run_binary, CachePolicy, Fault, FaultMode, ProofRequest, Stats, TestIdp, TokenRequest,
    ODD_CLIENT_ID, ODD_CLIENT_SECRET,
};
