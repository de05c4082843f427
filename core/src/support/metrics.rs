//! Counters every binding and the sidecar expose. Sharded per thread so that verifying on
//! many threads does not make them fight over one cache line.

use crate::support::error::ErrorCode;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Everything counted apart from rejections (which are counted per error code).
#[derive(Copy, Clone, Debug)]
pub(crate) enum Counter {
    Verified,
    JwksFetches,
    JwksFetchFailures,
    JwksNotModified,
    StaleServes,
    CooldownRejections,
    JwksFetchesSkipped,
    KeyCacheHits,
    KeyCacheMisses,
    IntrospectionRequests,
    IntrospectionFailures,
    IntrospectionCacheHits,
    TokenCacheHits,
    TokenCacheMisses,
    TokenCacheEvictions,
    StoreRequests,
    StoreErrors,
    StoreMicros,
}

const COUNTERS: usize = 18;
const SLOTS: usize = COUNTERS + 32;
const SHARDS: usize = 8;

#[repr(align(64))]
struct Shard([AtomicU64; SLOTS]);

pub(crate) struct Metrics {
    shards: [Shard; SHARDS],
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Relaxed) % SHARDS;
}

impl Metrics {
    pub fn new() -> Self {
        Metrics {
            shards: std::array::from_fn(|_| Shard(std::array::from_fn(|_| AtomicU64::new(0)))),
        }
    }

    fn bump(&self, slot: usize) {
        let shard = SHARD.with(|s| *s);
        self.shards[shard].0[slot].fetch_add(1, Relaxed);
    }

    pub fn add(&self, counter: Counter) {
        self.bump(counter as usize);
    }

    /// Adds `n` to a counter (a sum, such as [`Counter::StoreMicros`]).
    pub fn add_n(&self, counter: Counter, n: u64) {
        let shard = SHARD.with(|s| *s);
        self.shards[shard].0[counter as usize].fetch_add(n, Relaxed);
    }

    pub fn reject(&self, code: ErrorCode) {
        self.bump(COUNTERS + code.as_int() as usize);
    }

    fn sum(&self, slot: usize) -> u64 {
        self.shards.iter().map(|s| s.0[slot].load(Relaxed)).sum()
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        let c = |counter: Counter| self.sum(counter as usize);
        MetricsSnapshot {
            verified: c(Counter::Verified),
            rejected: ErrorCode::ALL
                .iter()
                .map(|code| (code.as_str(), self.sum(COUNTERS + code.as_int() as usize)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            jwks_fetches: c(Counter::JwksFetches),
            jwks_fetch_failures: c(Counter::JwksFetchFailures),
            jwks_not_modified: c(Counter::JwksNotModified),
            stale_serves: c(Counter::StaleServes),
            cooldown_rejections: c(Counter::CooldownRejections),
            jwks_fetches_skipped: c(Counter::JwksFetchesSkipped),
            key_cache_hits: c(Counter::KeyCacheHits),
            key_cache_misses: c(Counter::KeyCacheMisses),
            introspection_requests: c(Counter::IntrospectionRequests),
            introspection_failures: c(Counter::IntrospectionFailures),
            introspection_cache_hits: c(Counter::IntrospectionCacheHits),
            token_cache_hits: c(Counter::TokenCacheHits),
            token_cache_misses: c(Counter::TokenCacheMisses),
            token_cache_evictions: c(Counter::TokenCacheEvictions),
            store_requests: c(Counter::StoreRequests),
            store_errors: c(Counter::StoreErrors),
            store_latency_us: c(Counter::StoreMicros),
        }
    }
}

/// A point-in-time copy of a verifier's counters (all monotonic since it was built).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    /// Tokens accepted.
    pub verified: u64,
    /// Tokens rejected, per error code (codes never seen are left out).
    pub rejected: BTreeMap<&'static str, u64>,
    /// JWKS and discovery fetches started.
    pub jwks_fetches: u64,
    /// Fetches that failed (network, HTTP status, size, content, no usable key).
    pub jwks_fetch_failures: u64,
    /// Fetches answered `304 Not Modified`.
    pub jwks_not_modified: u64,
    /// Verifications that used keys past their freshness because refreshing failed.
    pub stale_serves: u64,
    /// Unknown `kid`s refused without fetching (cooldown or remembered missing kid).
    pub cooldown_rejections: u64,
    /// Fetches not made because the source was failing and its backoff had not passed
    /// (the verification failed fast with `jwks_unavailable`).
    pub jwks_fetches_skipped: u64,
    /// Key lookups answered from the cached key set.
    pub key_cache_hits: u64,
    /// Key lookups that found no key for the `kid` in the cached set.
    pub key_cache_misses: u64,
    /// Requests sent to an introspection endpoint.
    pub introspection_requests: u64,
    /// Introspection requests that failed (network, status, answer).
    pub introspection_failures: u64,
    /// Introspection answers reused from the cache.
    pub introspection_cache_hits: u64,
    /// Verifications answered by the verified-token cache (`[cache]`).
    pub token_cache_hits: u64,
    /// Lookups in the verified-token cache that found no usable entry.
    pub token_cache_misses: u64,
    /// Entries of the verified-token cache replaced by another token.
    pub token_cache_evictions: u64,
    /// Commands sent to the shared Redis store (DPoP replay records).
    pub store_requests: u64,
    /// Store commands that failed or timed out (each refused its proof).
    pub store_errors: u64,
    /// Time spent in store commands, in microseconds, summed (divide by `store_requests`
    /// for the mean).
    pub store_latency_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_across_threads() {
        let m = std::sync::Arc::new(Metrics::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        m.add(Counter::Verified);
                        m.reject(ErrorCode::TokenExpired);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let s = m.snapshot();
        assert_eq!(s.verified, 4000);
        assert_eq!(s.rejected.get("token_expired"), Some(&4000));
        assert_eq!(s.rejected.len(), 1);
    }
}
