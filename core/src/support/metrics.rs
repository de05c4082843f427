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
    IntrospectionStoreHits,
    TokenCacheHits,
    TokenCacheMisses,
    TokenCacheEvictions,
    StoreRequests,
    StoreErrors,
    StoreMicros,
}

const COUNTERS: usize = 19;
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
            introspection_store_hits: c(Counter::IntrospectionStoreHits),
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
    /// Introspection answers reused from this process's cache.
    pub introspection_cache_hits: u64,
    /// Introspection answers read from the shared Redis store (`cache = "redis"`): another
    /// process's answer, used without asking the endpoint.
    pub introspection_store_hits: u64,
    /// Verifications answered by the verified-token cache (`[cache]`).
    pub token_cache_hits: u64,
    /// Lookups in the verified-token cache that found no usable entry.
    pub token_cache_misses: u64,
    /// Entries of the verified-token cache replaced by another token.
    pub token_cache_evictions: u64,
    /// Commands sent to the shared Redis store (DPoP replay records, introspection answers).
    pub store_requests: u64,
    /// Store commands that failed or timed out: a replay record refused its proof; an
    /// introspection lookup or write fell back to the endpoint (never to an accept).
    pub store_errors: u64,
    /// Time spent in store commands, in microseconds, summed (divide by `store_requests`
    /// for the mean).
    pub store_latency_us: u64,
}

/// A Prometheus metric type, as the exposition formats name it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Histogram,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One metric family: its name (without the `_total` a counter's samples add), help, type.
/// The sidecar's `/metrics` and every binding's Prometheus exporter take their names from
/// [`ENGINE_FAMILIES`] and [`SIDECAR_FAMILIES`], so the names cannot drift apart.
#[derive(Copy, Clone, Debug)]
pub struct MetricFamily {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricKind,
    read: Option<fn(&MetricsSnapshot) -> u64>,
}

impl MetricFamily {
    /// The family's value in `snapshot` (engine families; `None` for the sidecar's own).
    pub fn read(&self, snapshot: &MetricsSnapshot) -> Option<u64> {
        self.read.map(|read| read(snapshot))
    }

    /// The name of its samples in the text formats: counters end in `_total`.
    pub fn sample_name(&self) -> String {
        match self.kind {
            MetricKind::Counter => format!("{}_total", self.name),
            MetricKind::Histogram => self.name.to_owned(),
        }
    }
}

const fn counter(
    name: &'static str,
    help: &'static str,
    read: fn(&MetricsSnapshot) -> u64,
) -> MetricFamily {
    MetricFamily {
        name,
        help,
        kind: MetricKind::Counter,
        read: Some(read),
    }
}

/// The label every family carries: the sidecar's client name, a binding's verifier name.
pub const CLIENT_LABEL: &str = "client";

/// The engine's counters, read from a verifier's [`MetricsSnapshot`] at scrape time.
pub const ENGINE_FAMILIES: [MetricFamily; 18] = [
    counter(
        "veritoken_jwks_fetches",
        "Key set and discovery fetches started",
        |m| m.jwks_fetches,
    ),
    counter(
        "veritoken_jwks_fetch_failures",
        "Key fetches that failed",
        |m| m.jwks_fetch_failures,
    ),
    counter(
        "veritoken_jwks_not_modified",
        "Key fetches answered 304",
        |m| m.jwks_not_modified,
    ),
    counter(
        "veritoken_stale_serves",
        "Verifications on keys past their freshness",
        |m| m.stale_serves,
    ),
    counter(
        "veritoken_cooldown_rejections",
        "Unknown kids refused without fetching",
        |m| m.cooldown_rejections,
    ),
    counter(
        "veritoken_jwks_fetches_skipped",
        "Key fetches not made while a failing source backs off",
        |m| m.jwks_fetches_skipped,
    ),
    counter(
        "veritoken_token_cache_hits",
        "Verifications answered by the verified-token cache",
        |m| m.token_cache_hits,
    ),
    counter(
        "veritoken_token_cache_misses",
        "Verified-token cache lookups that found no usable entry",
        |m| m.token_cache_misses,
    ),
    counter(
        "veritoken_token_cache_evictions",
        "Verified-token cache entries replaced by another token",
        |m| m.token_cache_evictions,
    ),
    counter(
        "veritoken_key_cache_hits",
        "Key lookups answered by the cached set",
        |m| m.key_cache_hits,
    ),
    counter(
        "veritoken_key_cache_misses",
        "Key lookups that missed the cached set",
        |m| m.key_cache_misses,
    ),
    counter(
        "veritoken_introspection_requests",
        "Requests sent to the introspection endpoint",
        |m| m.introspection_requests,
    ),
    counter(
        "veritoken_introspection_failures",
        "Introspection requests that failed (introspection_unavailable)",
        |m| m.introspection_failures,
    ),
    counter(
        "veritoken_introspection_cache_hits",
        "Introspection answers reused from this process's cache",
        |m| m.introspection_cache_hits,
    ),
    counter(
        "veritoken_introspection_store_hits",
        "Introspection answers read from the shared Redis store",
        |m| m.introspection_store_hits,
    ),
    counter(
        "veritoken_store_requests",
        "Commands sent to the shared Redis store (DPoP replay records, introspection answers)",
        |m| m.store_requests,
    ),
    counter(
        "veritoken_store_errors",
        "Redis store commands that failed or timed out (a DPoP proof is then refused; an introspection falls back to the endpoint)",
        |m| m.store_errors,
    ),
    counter(
        "veritoken_store_latency_microseconds",
        "Time spent in Redis store commands, summed",
        |m| m.store_latency_us,
    ),
];

/// The sidecar's own families (per auth request; the bindings have no requests to count).
pub const SIDECAR_FAMILIES: [MetricFamily; 2] = [
    MetricFamily {
        name: "veritoken_requests",
        help: "auth requests by client, verdict and error code",
        kind: MetricKind::Counter,
        read: None,
    },
    MetricFamily {
        name: "veritoken_request_duration_seconds",
        help: "auth request latency",
        kind: MetricKind::Histogram,
        read: None,
    },
];

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
