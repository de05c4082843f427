// Package prometheus exports veritoken verifiers' engine counters as a prometheus.Collector:
// the sidecar's family names, types and "client" label, from the engine's one table. It is
// its own module so that the veritoken module does not require client_golang.
package prometheus

import (
	"github.com/prometheus/client_golang/prometheus"
	veritoken "github.com/veritoken/veritoken/bindings-c/go"
)

// Collector reads each verifier's counters at scrape time.
type Collector struct {
	clients  map[string]*veritoken.Verifier
	families []veritoken.MetricFamily
	descs    []*prometheus.Desc
	types    []prometheus.ValueType
}

// NewCollector exports verifiers, keyed by the "client" label value:
//
//	prometheus.MustRegister(vtprom.NewCollector(map[string]*veritoken.Verifier{"orders": v}))
func NewCollector(clients map[string]*veritoken.Verifier) *Collector {
	c := &Collector{clients: make(map[string]*veritoken.Verifier, len(clients)), families: veritoken.MetricFamilies()}
	for name, v := range clients {
		c.clients[name] = v
	}
	for _, f := range c.families {
		kind, suffix := valueType(f.Kind)
		c.descs = append(c.descs, prometheus.NewDesc(f.Name+suffix, f.Help, []string{"client"}, nil))
		c.types = append(c.types, kind)
	}
	return c
}

// valueType is client_golang's type for the engine's Prometheus type of a family, and the
// suffix of its samples' name: client_golang names samples as given, and the sidecar's
// counters end in _total.
func valueType(kind string) (prometheus.ValueType, string) {
	switch kind {
	case "counter":
		return prometheus.CounterValue, "_total"
	case "gauge":
		return prometheus.GaugeValue, ""
	}
	return prometheus.UntypedValue, ""
}

// Describe sends every family's descriptor.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect sends each verifier's current values; a closed verifier is left out.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for client, v := range c.clients {
		values := v.MetricValues()
		if len(values) != len(c.descs) {
			continue
		}
		for i, d := range c.descs {
			ch <- prometheus.MustNewConstMetric(d, c.types[i], float64(values[i]), client)
		}
	}
}
