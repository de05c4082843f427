package prometheus

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	veritoken "github.com/veritoken/veritoken/bindings-c/go"
)

func hsVerifier(t *testing.T) *veritoken.Verifier {
	v, err := veritoken.New(veritoken.Config{Issuers: []veritoken.IssuerConfig{{
		Issuer: "https://issuer.test", Audiences: []string{"api"}, Algorithms: []string{"HS256"},
		Keys: []veritoken.KeySource{{Secret: &veritoken.SecretKey{Value: "0123456789abcdef0123456789abcdef", Alg: "HS256"}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// A scrape has the sidecar's engine families (from the engine's table), as counters with
// the client label of each verifier.
func TestScrapeHasTheSidecarFamilies(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(map[string]*veritoken.Verifier{"orders": hsVerifier(t), "billing": hsVerifier(t)}))
	got, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	families := veritoken.MetricFamilies()
	if len(families) != 18 || len(got) != len(families) {
		t.Fatalf("%d families in the table, %d scraped", len(families), len(got))
	}
	want := map[string]bool{}
	for _, f := range families {
		if f.Kind != "counter" {
			t.Fatalf("%s is a %s", f.Name, f.Kind)
		}
		want[f.Name+"_total"] = true
	}
	for _, mf := range got {
		if !want[mf.GetName()] || mf.GetType() != dto.MetricType_COUNTER || len(mf.GetMetric()) != 2 {
			t.Fatalf("unexpected family %v", mf)
		}
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel(); len(l) != 1 || l[0].GetName() != "client" {
				t.Fatalf("labels %v", l)
			}
		}
	}
}

// Each family is exported with the engine's type for it, not always as a counter.
func TestFamiliesKeepTheEnginesType(t *testing.T) {
	for kind, want := range map[string]struct {
		t      prometheus.ValueType
		suffix string
	}{
		"counter": {prometheus.CounterValue, "_total"},
		"gauge":   {prometheus.GaugeValue, ""},
		"summary": {prometheus.UntypedValue, ""},
	} {
		if got, suffix := valueType(kind); got != want.t || suffix != want.suffix {
			t.Errorf("%s: %v %q, want %v %q", kind, got, suffix, want.t, want.suffix)
		}
	}
}
