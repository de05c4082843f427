package veritoken

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testIdP is the repository's test identity provider (tests/idp), run as a process.
type testIdP struct{ base string }

// startIdP runs the veritoken-testidp binary that `make go-test` builds; without it the
// test is skipped, unless VERITOKEN_REQUIRE_IDP is set (as in `make test`).
func startIdP(t *testing.T) *testIdP {
	t.Helper()
	bin := os.Getenv("VERITOKEN_TESTIDP_BIN")
	if bin == "" {
		bin, _ = filepath.Abs("../../target/debug/veritoken-testidp")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("VERITOKEN_REQUIRE_IDP") != "" {
			t.Fatalf("test IdP binary %s: %v", bin, err)
		}
		t.Skipf("test IdP binary not built (%s); run `cargo build -p veritoken-testidp`", bin)
	}
	cmd := exec.Command(bin, "--port", "0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("test IdP printed no URL: %v", err)
	}
	return &testIdP{base: strings.TrimSpace(line)}
}

func (p *testIdP) token(t *testing.T, form url.Values) string {
	t.Helper()
	form.Set("grant_type", "client_credentials")
	req, _ := http.NewRequest("POST", p.base+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("test-client", "test-secret")
	var body struct {
		AccessToken string `json:"access_token"`
	}
	p.do(t, req, &body)
	return body.AccessToken
}

func (p *testIdP) admin(t *testing.T, method, path, jsonBody string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, p.base+path, strings.NewReader(jsonBody))
	req.Header.Set("Content-Type", "application/json")
	p.do(t, req, out)
}

func (p *testIdP) do(t *testing.T, req *http.Request, out any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s", req.Method, req.URL, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

func (p *testIdP) config() Config {
	return Config{Issuers: []IssuerConfig{{
		Issuer:     p.base,
		Audiences:  []string{"api://default"},
		Algorithms: []string{"RS256", "ES256", "EdDSA"},
		Discovery:  true,
		JWKSCache:  &JWKSCacheConfig{Cooldown: 1, TimeoutMs: 1000, WaitAtStartup: true},
	}}}
}

func TestIdPIntegration(t *testing.T) {
	idp := startIdP(t)
	v, err := New(idp.config())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		tok, err := v.Verify(ctx, idp.token(t, url.Values{"alg": {alg}, "scope": {"orders:read"}}))
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if tok.Header()["alg"] != alg || !tok.HasScopes("orders:read") {
			t.Fatalf("%s: header %v claims %s", alg, tok.Header(), tok.ClaimsJSON())
		}
	}

	// Rotation: a key published after start-up is found through a refetch.
	var added struct {
		Kid string `json:"kid"`
	}
	idp.admin(t, "POST", "/admin/keys", `{"alg": "ES256"}`, &added)
	tok, err := v.Verify(ctx, idp.token(t, url.Values{"alg": {"ES256"}, "kid": {added.Kid}}))
	if err != nil || tok.Header()["kid"] != added.Kid {
		t.Fatalf("rotated key: %v", err)
	}

	// A kid the IdP never published.
	time.Sleep(1100 * time.Millisecond) // past the cooldown, so this one refetches
	forged := idp.token(t, url.Values{"alg": {"RS256"}})
	parts := strings.SplitN(forged, ".", 2)
	header := `{"alg":"RS256","kid":"no-such-kid","typ":"JWT"}`
	forged = b64(header) + "." + parts[1]
	if _, err := v.Verify(ctx, forged); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("unknown kid: %v", err)
	}

	m, err := v.Metrics()
	if err != nil || m.JWKSFetches < 2 || m.Verified != 4 {
		t.Fatalf("metrics %+v %v", m, err)
	}
}

// An IdP that is down gives jwks_unavailable, which Middleware answers with 503.
func TestIdPDown(t *testing.T) {
	idp := startIdP(t)
	good := idp.token(t, url.Values{"alg": {"RS256"}})
	idp.admin(t, "POST", "/admin/fault", `{"mode": "down"}`, nil)
	cfg := idp.config()
	cfg.Issuers[0].JWKSCache.WaitAtStartup = false
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.Verify(context.Background(), good); !errors.Is(err, ErrJWKSUnavailable) {
		t.Fatalf("IdP down: %v", err)
	}
	resp, body, _ := call(t, Middleware(v)(whoami), "Bearer "+good)
	if resp.StatusCode != 503 || body.Error.Code != "jwks_unavailable" || resp.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("middleware: %d %+v", resp.StatusCode, body)
	}
	// Back up: the next verification fetches and succeeds.
	idp.admin(t, "POST", "/admin/reset", `{}`, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Verify(context.Background(), good)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never recovered: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// slowKeys is a verifier whose first key fetch takes 600 ms (the test IdP's delay fault),
// and a token of that IdP.
func slowKeys(t *testing.T) (*Verifier, string) {
	idp := startIdP(t)
	good := idp.token(t, url.Values{"alg": {"ES256"}})
	idp.admin(t, "POST", "/admin/fault", `{"mode": "delay", "delay_ms": 600}`, nil)
	cfg := idp.config()
	cfg.Issuers[0].JWKSCache.WaitAtStartup = false
	cfg.Issuers[0].JWKSCache.TimeoutMs = 3000
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v, good
}

// A caller's deadline is honoured while keys are fetched; the fetch still completes and
// later calls use its keys.
func TestContextCancelsTheWaitForKeys(t *testing.T) {
	v, good := slowKeys(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	started := time.Now()
	if _, err := v.Verify(ctx, good); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	if waited := time.Since(started); waited > 400*time.Millisecond {
		t.Fatalf("returned after %v, the deadline was 100ms", waited)
	}
	// Without a deadline the call waits for the (slow) fetch and succeeds.
	tok, err := v.Verify(context.Background(), good)
	if err != nil || tok.Subject() != "test-client" {
		t.Fatalf("after the fetch: %v", err)
	}
}

// A request whose deadline passes while keys are fetched: VerifyRequest returns at once,
// and the request's C copy is freed only when the abandoned call is done with it (it
// still runs when the fetch ends; freeing it on return let that call read freed memory).
func TestCancelledRequestKeepsItsCopyUntilTheCallEnds(t *testing.T) {
	v, good := slowKeys(t)
	freed := make(chan struct{}, 4)
	testHookRequestFreed = func() { freed <- struct{}{} }
	defer func() { testHookRequestFreed = nil }()
	r := httptest.NewRequest("GET", "http://api.test/orders", nil)
	r.Header.Set("Authorization", "Bearer "+good)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := v.VerifyRequest(ctx, r, "http://api.test/orders"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	select {
	case <-freed:
		t.Fatal("the request was freed while the abandoned call could still read it")
	default:
	}
	select {
	case <-freed: // after the fetch, the abandoned call ended and released it
	case <-time.After(5 * time.Second):
		t.Fatal("the request was never freed")
	}
	// Without a deadline: verified, and freed on return.
	if tok, err := v.VerifyRequest(context.Background(), r, "http://api.test/orders"); err != nil || tok.Subject() != "test-client" {
		t.Fatalf("after the fetch: %v", err)
	}
	select {
	case <-freed:
	default:
		t.Fatal("a finished request was not freed on return")
	}
}

// Introspection.Cache "redis" needs DPoP.Replay on Redis (a config error naming the path);
// with a Redis that refuses connections, the endpoint answers instead and the store error
// is counted: never an accept without an answer.
func TestIntrospectionCacheOnRedisFallsBackToTheEndpoint(t *testing.T) {
	idp := startIdP(t)
	cfg := idp.config()
	cfg.Issuers[0].Introspection = &IntrospectionConfig{ClientID: "test-client", ClientSecret: "test-secret", Cache: "redis"}
	if _, err := New(cfg); !errors.Is(err, ErrConfigInvalid) || !strings.Contains(err.Error(), "introspection.cache") {
		t.Fatalf("cache redis without a replay store: %v", err)
	}
	cfg.DPoP = &DPoPConfig{Replay: &ReplayConfig{Store: "redis", URL: "redis://127.0.0.1:1", TimeoutMs: 200}}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	token := idp.token(t, url.Values{"format": {"opaque"}})
	if tok, err := v.Verify(context.Background(), token); err != nil || tok.Subject() != "test-client" {
		t.Fatalf("fallback: %v", err)
	}
	if m, _ := v.Metrics(); m.IntrospectionRequests != 1 || m.StoreErrors < 1 || m.IntrospectionStoreHits != 0 {
		t.Fatalf("metrics %+v", m)
	}
}

// Opaque tokens go to the IdP's introspection endpoint (found through discovery).
func TestOpaqueTokensThroughIntrospection(t *testing.T) {
	idp := startIdP(t)
	cfg := idp.config()
	cfg.Issuers[0].Introspection = &IntrospectionConfig{ClientID: "test-client", ClientSecret: "test-secret"}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	token := idp.token(t, url.Values{"format": {"opaque"}, "scope": {"orders:read"}})
	tok, err := v.Verify(ctx, token)
	if err != nil || tok.Subject() != "test-client" || !tok.HasScopes("orders:read") || tok.HeaderJSON() != "{}" {
		t.Fatalf("opaque: %v", err)
	}
	if _, err := v.Verify(ctx, "opaque-never-issued"); !errors.Is(err, ErrTokenInactive) {
		t.Fatalf("unknown: %v", err)
	}
	resp, body, _ := call(t, Middleware(v)(whoami), "Bearer "+token)
	if resp.StatusCode != 200 {
		t.Fatalf("middleware: %d %+v", resp.StatusCode, body)
	}
	if m, _ := v.Metrics(); m.IntrospectionRequests != 2 || m.IntrospectionCacheHits != 1 {
		t.Fatalf("metrics %+v", m)
	}
	// An answer larger than Verify's 8 KiB buffer (and than the short opaque token) comes
	// back whole, verified once: one request and no cache hit for the first Verify (a
	// second verification would show as a cache hit), one cache hit for the next.
	big := strings.Repeat("x", 12000)
	token = idp.token(t, url.Values{"format": {"opaque"}, "claims": {`{"note":"` + big + `"}`}})
	for i, when := range []string{"fetched", "cached"} {
		if tok, err = v.Verify(ctx, token); err != nil {
			t.Fatalf("large answer, %s: %v", when, err)
		}
		if len(token) > 100 || tok.Claims()["note"] != big || tok.Subject() != "test-client" {
			t.Fatalf("large answer, %s: %d claim bytes for a %d-byte token", when, len(tok.ClaimsJSON()), len(token))
		}
		if m, _ := v.Metrics(); m.IntrospectionRequests != 3 || m.IntrospectionCacheHits != uint64(1+i) {
			t.Fatalf("large answer, %s: %d requests, %d cache hits", when, m.IntrospectionRequests, m.IntrospectionCacheHits)
		}
	}
}

// When the request's context ends while keys are fetched, Middleware still refuses the
// request (an auth_request backend must never answer an unverified request with net/http's
// default 200), and the ErrorHandler's *Error wraps the context's error.
func TestMiddlewareRefusesARequestWhoseContextEnded(t *testing.T) {
	v, good := slowKeys(t)
	var got *Error
	h := Middleware(v, ErrorHandler(func(w http.ResponseWriter, r *http.Request, e *Error) {
		got = e
		v.WriteError(w, e, "")
	}))(whoami)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := httptest.NewRequest("GET", "http://api.test/orders", nil).WithContext(ctx)
	r.Header.Set("Authorization", "Bearer "+good)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 500 || got == nil || got.Code != CodeInternal || !errors.Is(got, context.DeadlineExceeded) {
		t.Fatalf("answered %d, ErrorHandler got %#v", rec.Code, got)
	}
	if errors.Is(got, context.Canceled) || errors.Unwrap(ErrTokenExpired) != nil {
		t.Fatal("only the context's own error is wrapped")
	}
}
