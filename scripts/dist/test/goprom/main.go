// The Prometheus collector module as installed from the module proxy: one verification,
// then a scrape through the default registry, as the Go README shows it. Exits non-zero
// unless every engine family is exported with the verifier's client label.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	veritoken "github.com/veritoken/veritoken/bindings-c/go"
	vtprom "github.com/veritoken/veritoken/bindings-c/go/prometheus"
)

func main() {
	v, err := veritoken.New(veritoken.Config{Issuers: []veritoken.IssuerConfig{{
		Issuer: "https://idp.example.com/", Audiences: []string{"api"}, Algorithms: []string{"HS256"},
		Keys: []veritoken.KeySource{{Secret: &veritoken.SecretKey{Value: "dist-test-secret-of-at-least-32-bytes!", Alg: "HS256"}}},
	}}})
	if err != nil {
		fail("New: %v", err)
	}
	defer v.Close()
	if _, err := v.Verify(context.Background(), "not.a.token"); err == nil {
		fail("a malformed token was accepted")
	}
	prometheus.MustRegister(vtprom.NewCollector(map[string]*veritoken.Verifier{"orders": v}))
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		fail("Gather: %v", err)
	}
	ours := 0
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "veritoken_") {
			continue
		}
		ours++
		m := f.GetMetric()
		if len(m) != 1 || len(m[0].GetLabel()) != 1 || m[0].GetLabel()[0].GetValue() != "orders" {
			fail("%s: %v", f.GetName(), m)
		}
	}
	if want := len(veritoken.MetricFamilies()); ours != want {
		fail("%d veritoken families scraped, the engine's table has %d", ours, want)
	}
	fmt.Printf("prometheus collector: %d families, each with client=\"orders\"\n", ours)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "goprom: "+format+"\n", args...)
	os.Exit(1)
}
