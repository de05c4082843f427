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
		// client_golang names a counter's samples as given: the sidecar's end in _total.
		c.descs = append(c.descs, prometheus.NewDesc(f.Name+"_total", f.Help, []string{"client"}, nil))
	}
	return c
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
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(values[i]), client)
		}
	}
}
