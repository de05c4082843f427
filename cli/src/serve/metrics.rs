//! `/metrics` in the Prometheus text format: requests by client, verdict and code, request
//! latency, and each client's engine counters (key fetches, failures, stale serves...).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use veritoken::{MetricsSnapshot, Verifier, CLIENT_LABEL, ENGINE_FAMILIES, SIDECAR_FAMILIES};

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

impl Collector for EngineCounters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snapshots: Vec<(&str, MetricsSnapshot)> = self
            .clients
            .iter()
            .map(|(n, v)| (n.as_str(), v.metrics()))
            .collect();
        for family in &ENGINE_FAMILIES {
            let mut metric =
                encoder.encode_descriptor(family.name, family.help, None, MetricType::Counter)?;
            for (client, snapshot) in &snapshots {
                let labels = [(CLIENT_LABEL, *client)];
                let value = family.read(snapshot).unwrap_or(0);
                ConstCounter::new(value).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

impl Metrics {
    pub fn new(clients: Vec<(String, Verifier)>) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        let [requests_family, latency_family] = SIDECAR_FAMILIES;
        registry.register(requests_family.name, requests_family.help, requests.clone());
        let latency = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
        });
        registry.register(latency_family.name, latency_family.help, latency.clone());
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
            (CLIENT_LABEL.to_owned(), client.to_owned()),
            ("verdict".to_owned(), verdict.to_owned()),
            ("code".to_owned(), code.unwrap_or("ok").to_owned()),
        ];
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&vec![(CLIENT_LABEL.to_owned(), client.to_owned())])
            .observe(seconds);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
