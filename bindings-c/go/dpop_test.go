package veritoken

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// dpopClient holds a P-256 key and signs DPoP proofs; its RFC 7638 thumbprint is computed
// here, apart from the engine.
type dpopClient struct {
	key *ecdsa.PrivateKey
	jwk map[string]string
	jkt string
	n   atomic.Int64
}

func newDPoPClient(t *testing.T) *dpopClient {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	pub, _ := key.PublicKey.ECDH()
	point := pub.Bytes() // 0x04 || x || y
	jwk := map[string]string{"kty": "EC", "crv": "P-256", "x": enc.EncodeToString(point[1:33]), "y": enc.EncodeToString(point[33:])}
	canonical := fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, jwk["x"], jwk["y"])
	sum := sha256.Sum256([]byte(canonical))
	return &dpopClient{key: key, jwk: jwk, jkt: enc.EncodeToString(sum[:])}
}

func (c *dpopClient) proof(t *testing.T, htm, htu, token, nonce string) string {
	enc := base64.RawURLEncoding
	ath := sha256.Sum256([]byte(token))
	claims := map[string]any{"jti": fmt.Sprintf("p%d-%d", c.n.Add(1), time.Now().UnixNano()), "htm": htm, "htu": htu,
		"iat": time.Now().Unix(), "ath": enc.EncodeToString(ath[:])}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	header, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": c.jwk})
	payload, _ := json.Marshal(claims)
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, c.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig)
}

func dpopVerifier(t *testing.T, dpop DPoPConfig) *Verifier {
	cfg := hsConfig()
	cfg.DPoP = &dpop
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func boundToken(t *testing.T, c *dpopClient) string {
	claims := goodClaims()
	claims["cnf"] = map[string]string{"jkt": c.jkt}
	return mintHS256(t, claims)
}

func codeAndClaim(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return fmt.Sprintf("not an *Error: %v", err)
	}
	return e.Code.String() + "/" + e.Claim
}

func TestVerifyDPoP(t *testing.T) {
	c := newDPoPClient(t)
	v := dpopVerifier(t, DPoPConfig{Mode: "required"})
	token := boundToken(t, c)
	const api = "https://api.example.com/orders"
	proof := c.proof(t, "GET", api, token, "")
	tok, err := v.VerifyDPoP(context.Background(), token, proof, "GET", api)
	if err != nil || tok.Subject() != "alice" {
		t.Fatalf("verify: %v", err)
	}
	if _, err := v.VerifyDPoP(context.Background(), token, proof, "GET", api); !errors.Is(err, ErrDPoPInvalid) || codeAndClaim(err) != "dpop_invalid/jti" {
		t.Fatalf("replay: %v", err)
	}
	if _, err := v.Verify(context.Background(), token); codeAndClaim(err) != "dpop_invalid/cnf" {
		t.Fatalf("bound token as bearer: %v", err)
	}
	// A proof Go cannot pass whole (a NUL byte) goes as U+FFFD: the engine judges it, as
	// in every binding (Go answered token_malformed on its own).
	if _, err := v.VerifyDPoP(context.Background(), token, "a\x00b", "GET", api); !errors.Is(err, ErrDPoPInvalid) {
		t.Fatalf("NUL in proof: %v", err)
	}
}

// get calls h over real HTTP with the given headers.
func get(t *testing.T, srv *httptest.Server, headers map[string]string) (*http.Response, errorBody) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/orders", nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body errorBody
	if resp.StatusCode != 200 {
		_ = json.NewDecoder(resp.Body).Decode(&body)
	}
	return resp, body
}

func TestDPoPMiddleware(t *testing.T) {
	c := newDPoPClient(t)
	v := dpopVerifier(t, DPoPConfig{Mode: "allowed"})
	srv := httptest.NewServer(Middleware(v, Realm("orders"))(whoami))
	defer srv.Close()
	token := boundToken(t, c)
	proof := c.proof(t, "GET", srv.URL+"/orders", token, "")
	dpop := map[string]string{"Authorization": "DPoP " + token, "DPoP": proof}
	if resp, body := get(t, srv, dpop); resp.StatusCode != 200 {
		t.Fatalf("accept: %d %+v", resp.StatusCode, body)
	}
	resp, body := get(t, srv, dpop)
	challenge := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || body.Error.Code != "dpop_invalid" || body.Error.Claim != "jti" ||
		!strings.HasPrefix(challenge, `DPoP realm="orders", error="invalid_dpop_proof"`) {
		t.Fatalf("replay: %d %+v %q", resp.StatusCode, body, challenge)
	}
	other := map[string]string{"Authorization": "DPoP " + token, "DPoP": c.proof(t, "GET", srv.URL+"/admin", token, "")}
	if _, body := get(t, srv, other); body.Error.Claim != "htu" {
		t.Fatalf("other URL: %+v", body)
	}
	if _, body := get(t, srv, map[string]string{"Authorization": "Bearer " + token}); body.Error.Claim != "cnf" {
		t.Fatalf("bound token as bearer: %+v", body)
	}
	// Allowed mode: a refusal that is not about a proof is offered under both schemes,
	// each with its error, so the client finds it under the scheme it used.
	resp, body = get(t, srv, map[string]string{"Authorization": "Bearer not-a-jwt"})
	challenge = resp.Header.Get("WWW-Authenticate")
	if body.Error.Code != "token_malformed" ||
		!strings.HasPrefix(challenge, `Bearer realm="orders", error="invalid_token", error_description=`) ||
		!strings.Contains(challenge, `, DPoP realm="orders", error="invalid_token", error_description=`) ||
		!strings.Contains(challenge, `algs="`) {
		t.Fatalf("malformed token: %+v, challenge %q", body, challenge)
	}
	resp, _ = get(t, srv, nil)
	if want := `Bearer realm="orders", DPoP realm="orders", algs="`; !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), want) {
		t.Fatalf("missing token challenge %q", resp.Header.Get("WWW-Authenticate"))
	}
}

func TestDPoPNonceThroughMiddleware(t *testing.T) {
	c := newDPoPClient(t)
	v := dpopVerifier(t, DPoPConfig{Mode: "required", Nonce: true})
	srv := httptest.NewServer(Middleware(v)(whoami))
	defer srv.Close()
	token := boundToken(t, c)
	resp, body := get(t, srv, map[string]string{"Authorization": "DPoP " + token, "DPoP": c.proof(t, "GET", srv.URL+"/orders", token, "")})
	nonce := resp.Header.Get("DPoP-Nonce")
	if resp.StatusCode != 401 || body.Error.Claim != "nonce" || nonce == "" ||
		!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `DPoP error="use_dpop_nonce"`) {
		t.Fatalf("nonce needed: %d %+v %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = get(t, srv, map[string]string{"Authorization": "DPoP " + token, "DPoP": c.proof(t, "GET", srv.URL+"/orders", token, nonce)})
	if resp.StatusCode != 200 {
		t.Fatalf("with nonce: %d %+v", resp.StatusCode, body)
	}
}

func TestDPoPWithIdPBoundToken(t *testing.T) {
	idp := startIdP(t)
	var made struct {
		Proof string `json:"proof"`
		JKT   string `json:"jkt"`
	}
	idp.admin(t, "POST", "/dpop/proof", fmt.Sprintf(`{"htm":"POST","htu":%q}`, idp.base+"/token"), &made)
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest("POST", idp.base+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", made.Proof)
	req.SetBasicAuth("test-client", "test-secret")
	var answer struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	idp.do(t, req, &answer)
	if answer.TokenType != "DPoP" {
		t.Fatalf("token type %q", answer.TokenType)
	}
	cfg := idp.config()
	cfg.DPoP = &DPoPConfig{Mode: "required"}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	const api = "https://api.example.com/orders"
	var proof struct {
		Proof string `json:"proof"`
	}
	idp.admin(t, "POST", "/dpop/proof", fmt.Sprintf(`{"htm":"GET","htu":%q,"access_token":%q}`, api, answer.AccessToken), &proof)
	r := httptest.NewRequest("GET", api, nil)
	r.Header.Set("Authorization", "DPoP "+answer.AccessToken)
	r.Header.Set("DPoP", proof.Proof)
	tok, err := v.VerifyRequest(context.Background(), r, RequestURL(r))
	if err != nil {
		t.Fatalf("verify request: %v", err)
	}
	var claims struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal([]byte(tok.ClaimsJSON()), &claims); err != nil || claims.Cnf.JKT != made.JKT {
		t.Fatalf("cnf.jkt %q, want %q (%v)", claims.Cnf.JKT, made.JKT, err)
	}
	if tok.DPoPJKT() != made.JKT { // the accessor record of a token handle
		t.Fatalf("DPoPJKT() %q, want %q", tok.DPoPJKT(), made.JKT)
	}
}
