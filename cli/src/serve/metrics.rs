//! `/metrics` in the Prometheus text format: requests by client, verdict and code, request
//! latency, and each client's engine counters (key fetches, failures, stale serves...).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use veritoken::{MetricsSnapshot, Verifier};

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
}

/// The engine's own counters, read from each client's verifier at scrape time.
#[derive(Debug)]
struct EngineCounters {
    clients: Vec<(String, Verifier)>,
}

type Reading = fn(&MetricsSnapshot) -> u64;

const ENGINE: [(&str, &str, Reading); 13] = [
    (
        "veritoken_jwks_fetches",
        "Key set and discovery fetches started",
        |m| m.jwks_fetches,
    ),
    (
        "veritoken_jwks_fetch_failures",
        "Key fetches that failed",
        |m| m.jwks_fetch_failures,
    ),
    (
        "veritoken_jwks_not_modified",
        "Key fetches answered 304",
        |m| m.jwks_not_modified,
    ),
    (
        "veritoken_stale_serves",
        "Verifications on keys past their freshness",
        |m| m.stale_serves,
    ),
    (
        "veritoken_cooldown_rejections",
        "Unknown kids refused without fetching",
        |m| m.cooldown_rejections,
    ),
    (
        "veritoken_jwks_fetches_skipped",
        "Key fetches not made while a failing source backs off",
        |m| m.jwks_fetches_skipped,
    ),
    (
        "veritoken_token_cache_hits",
        "Verifications answered by the verified-token cache",
        |m| m.token_cache_hits,
    ),
    (
        "veritoken_token_cache_misses",
        "Verified-token cache lookups that found no usable entry",
        |m| m.token_cache_misses,
    ),
    (
        "veritoken_token_cache_evictions",
        "Verified-token cache entries replaced by another token",
        |m| m.token_cache_evictions,
    ),
    (
        "veritoken_key_cache_misses",
        "Key lookups that missed the cached set",
        |m| m.key_cache_misses,
    ),
    (
        "veritoken_store_requests",
        "Commands sent to the shared Redis store (DPoP replay records)",
        |m| m.store_requests,
    ),
    (
        "veritoken_store_errors",
        "Redis store commands that failed or timed out (each refused its proof)",
        |m| m.store_errors,
    ),
    (
        "veritoken_store_latency_microseconds",
        "Time spent in Redis store commands, summed",
        |m| m.store_latency_us,
    ),
];

impl Collector for EngineCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshots: Vec<(&str, MetricsSnapshot)> = self
            .clients
            .iter()
            .map(|(n, v)| (n.as_str(), v.metrics()))
            .collect();
        for (name, help, read) in ENGINE {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (client, snapshot) in &snapshots {
                let labels = [("client", *client)];
                ConstCounter::new(read(snapshot)).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

impl Metrics {
    pub fn new(clients: Vec<(String, Verifier)>) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "veritoken_requests",
            "auth requests by client, verdict and error code",
            requests.clone(),
        );
        let latency = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
        });
        registry.register(
            "veritoken_request_duration_seconds",
            "auth request latency",
            latency.clone(),
        );
        registry.register_collector(Box::new(EngineCounters { clients }));
        Metrics {
            registry,
            requests,
            latency,
        }
    }

    pub fn observe(&self, client: &str, code: Option<&str>, seconds: f64) {
        let verdict = if code.is_none() { "allow" } else { "deny" };
        let labels = vec![
            ("client".to_owned(), client.to_owned()),
            ("verdict".to_owned(), verdict.to_owned()),
            ("code".to_owned(), code.unwrap_or("ok").to_owned()),
        ];
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&vec![("client".to_owned(), client.to_owned())])
            .observe(seconds);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
