// Package exampletest drives each router example through the same requests: no token,
// a valid token, a missing scope, the scope granted.
package exampletest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	veritoken "github.com/veritoken/veritoken/bindings-c/go"
)

const secret = "example-secret-example-secret-32"

func mint(t *testing.T, scope string) string {
	enc := base64.RawURLEncoding
	now := time.Now().Unix()
	claims, _ := json.Marshal(map[string]any{"iss": "https://issuer.example", "aud": "orders",
		"sub": "alice", "iat": now, "exp": now + 60, "scope": scope})
	input := enc.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}

// Run serves build(v) and checks the protected routes.
func Run(t *testing.T, build func(*veritoken.Verifier) http.Handler) {
	v, err := veritoken.New(veritoken.Config{Issuers: []veritoken.IssuerConfig{{
		Issuer: "https://issuer.example", Audiences: []string{"orders"}, Algorithms: []string{"HS256"},
		Keys: []veritoken.KeySource{{Secret: &veritoken.SecretKey{Value: secret, Alg: "HS256"}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	srv := httptest.NewServer(build(v))
	defer srv.Close()

	do := func(method, token string) (int, string, string) {
		req, _ := http.NewRequest(method, srv.URL+"/orders", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header.Get("WWW-Authenticate")
	}
	if code, body, challenge := do("GET", ""); code != 401 || !strings.Contains(body, `"token_missing"`) || !strings.HasPrefix(challenge, "Bearer") {
		t.Errorf("no token: %d %s %q", code, body, challenge)
	}
	if code, body, _ := do("GET", mint(t, "orders:read")); code != 200 || body != "orders of alice\n" {
		t.Errorf("valid token: %d %q", code, body)
	}
	if code, body, _ := do("POST", mint(t, "orders:read")); code != 403 || !strings.Contains(body, `"scope_insufficient"`) {
		t.Errorf("missing scope: %d %s", code, body)
	}
	if code, _, _ := do("POST", mint(t, "orders:read orders:write")); code != 201 {
		t.Errorf("scope granted: %d", code)
	}
	if code, body, _ := do("GET", mint(t, "x")[:20]); code != 401 || !strings.Contains(body, `"token_malformed"`) {
		t.Errorf("malformed: %d %s", code, body)
	}
	// One verification per request with a valid token (three): a route that verified
	// twice would refuse a DPoP proof, single use, as a replay.
	if m, err := v.Metrics(); err != nil || m.Verified != 3 {
		t.Errorf("verified %d times for 3 requests with a valid token (%v)", m.Verified, err)
	}
}
