package veritoken

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

const testSecret = "0123456789abcdef0123456789abcdef"

func hsConfig() Config {
	return Config{Issuers: []IssuerConfig{{
		Issuer:     "https://issuer.test",
		Audiences:  []string{"api"},
		Algorithms: []string{"HS256"},
		Keys:       []KeySource{{Secret: &SecretKey{Value: testSecret, Alg: "HS256"}}},
	}}}
}

// mintHS256 signs claims with the test secret (the test's own minimal signer).
func mintHS256(t testing.TB, claims map[string]any) string {
	enc := base64.RawURLEncoding
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}

func goodClaims() map[string]any {
	now := time.Now().Unix()
	return map[string]any{"iss": "https://issuer.test", "aud": "api", "sub": "alice",
		"iat": now, "exp": now + 300, "scope": "read write", "jti": "j1"}
}

func newHS(t testing.TB) *Verifier {
	v, err := New(hsConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func TestVerifyAndAccessors(t *testing.T) {
	v := newHS(t)
	tok, err := v.Verify(context.Background(), mintHS256(t, goodClaims()))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Subject() != "alice" || tok.Issuer() != "https://issuer.test" || tok.ID() != "j1" {
		t.Fatalf("accessors: %q %q %q", tok.Subject(), tok.Issuer(), tok.ID())
	}
	if a := tok.Audiences(); len(a) != 1 || a[0] != "api" {
		t.Fatalf("audiences %v", a)
	}
	if d := time.Until(tok.ExpiresAt()); d < 290*time.Second || d > 301*time.Second {
		t.Fatalf("exp %v", tok.ExpiresAt())
	}
	if tok.Header()["alg"] != "HS256" {
		t.Fatalf("header %v", tok.Header())
	}
	var typed struct {
		Scope string `json:"scope"`
	}
	if err := tok.UnmarshalClaims(&typed); err != nil || typed.Scope != "read write" {
		t.Fatalf("typed claims %+v %v", typed, err)
	}
	if !tok.HasScopes("read", "write") || tok.HasScopes("admin") {
		t.Fatal("HasScopes")
	}
	err = tok.RequireScopes("read", "admin")
	if !errors.Is(err, ErrScopeInsufficient) || !strings.Contains(err.Error(), "admin") {
		t.Fatalf("RequireScopes: %v", err)
	}
	if err := tok.RequireAnyScope("admin", "read"); err != nil {
		t.Fatal(err)
	}
}

func TestRejectionsCarryCodeAndClaim(t *testing.T) {
	v := newHS(t)
	ctx := context.Background()
	expired := goodClaims()
	expired["exp"] = time.Now().Unix() - 100
	_, err := v.Verify(ctx, mintHS256(t, expired))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeTokenExpired || e.Claim != "exp" || e.Code.HTTPStatus() != 401 {
		t.Fatalf("expired: %#v", err)
	}
	if !errors.Is(err, ErrTokenExpired) || errors.Is(err, ErrSignatureInvalid) {
		t.Fatal("errors.Is against sentinels")
	}
	if e.Code.String() != "token_expired" || !strings.HasPrefix(e.Error(), "veritoken: token_expired: ") {
		t.Fatalf("names: %s / %s", e.Code, e.Error())
	}
	noSub := goodClaims()
	delete(noSub, "aud")
	if _, err := v.Verify(ctx, mintHS256(t, noSub)); !errors.As(err, &e) || e.Code != CodeClaimMissing || e.Claim != "aud" {
		t.Fatalf("no aud: %v", err)
	}
	good := mintHS256(t, goodClaims())
	// A NUL byte would cut the token short in C: it must be refused, never verified as its prefix.
	if _, err := v.Verify(ctx, good+"\x00junk"); !errors.Is(err, ErrTokenMalformed) {
		t.Fatalf("NUL: %v", err)
	}
	if _, err := v.Verify(ctx, "\xff\xfe.a.b"); !errors.Is(err, ErrTokenMalformed) {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	if _, err := v.Verify(ctx, good[:len(good)-2]+"AA"); !errors.Is(err, ErrSignatureInvalid) {
		t.Fatalf("tampered: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := v.Verify(canceled, good); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled ctx: %v", err)
	}
	m, err := v.Metrics()
	if err != nil || m.Rejected["token_expired"] != 1 || m.Rejected["signature_invalid"] != 1 {
		t.Fatalf("metrics %+v %v", m, err)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrConfigInvalid) {
		t.Fatalf("empty: %v", err)
	}
	cfg := hsConfig()
	cfg.Issuers[0].Algorithms = []string{"none"}
	_, err := New(cfg)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeConfigInvalid || !strings.Contains(e.Message, "none") {
		t.Fatalf("alg none: %v", err)
	}
	cfg = hsConfig()
	cfg.Issuers[0].Keys[0].Secret.Value = "hunter2-xyzzy"
	if _, err := New(cfg); !errors.Is(err, ErrConfigInvalid) || strings.Contains(err.Error(), "xyzzy") {
		t.Fatalf("short secret (must not echo it): %v", err)
	}
	if _, err := NewFromJSON([]byte(`{"issuers": [], "bogus": 1}`)); !errors.Is(err, ErrConfigInvalid) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := NewFromJSON([]byte("{\x00}")); !errors.Is(err, ErrConfigInvalid) {
		t.Fatalf("NUL: %v", err)
	}
	if _, err := NewFromFile("/nonexistent/veritoken.toml"); !errors.Is(err, ErrConfigInvalid) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestCloseIsIdempotentAndSafe(t *testing.T) {
	v, err := New(hsConfig())
	if err != nil {
		t.Fatal(err)
	}
	good := mintHS256(t, goodClaims())
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if _, err := v.Verify(context.Background(), good); err != nil && !errors.Is(err, ErrClosed) {
					t.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(5 * time.Millisecond)
	v.Close()
	v.Close()
	wg.Wait()
	if _, err := v.Verify(context.Background(), good); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := v.ExtractToken(nil, ""); !errors.Is(err, ErrClosed) {
		t.Fatalf("extract after Close: %v", err)
	}
	if _, err := v.Metrics(); !errors.Is(err, ErrClosed) {
		t.Fatalf("metrics after Close: %v", err)
	}
}

func TestConcurrentVerify(t *testing.T) {
	v := newHS(t)
	good := mintHS256(t, goodClaims())
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 500; j++ {
				if tok, err := v.Verify(context.Background(), good); err != nil || tok.Subject() != "alice" {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if m, _ := v.Metrics(); m.Verified != 16*500 {
		t.Fatalf("verified %d", m.Verified)
	}
}

// Verifiers dropped without Close are freed by their finalizers.
func TestFinalizersFreeVerifiers(t *testing.T) {
	base := live.Load()
	held := make([]*Verifier, 0, 500)
	for i := 0; i < 500; i++ {
		v, err := New(hsConfig())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), mintHS256(t, goodClaims())); err != nil {
			t.Fatal(err)
		}
		held = append(held, v)
	}
	runtime.GC()
	if live.Load() != base+500 {
		t.Fatalf("reachable verifiers were freed: live %d, base %d", live.Load(), base)
	}
	runtime.KeepAlive(held)
	held = nil
	deadline := time.Now().Add(10 * time.Second)
	for live.Load() > base && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := live.Load() - base; n != 0 {
		t.Fatalf("%d verifiers never finalized", n)
	}
}

func TestExtractToken(t *testing.T) {
	cfg := hsConfig()
	cfg.TokenSources = []TokenSource{{Cookie: &NamedSource{Name: "session"}}, {Query: &NamedSource{Name: "access_token"}}}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	got, err := v.ExtractToken(map[string][]string{"Cookie": {"a=1; session=abc.def.ghi"}}, "")
	if err != nil || got != "abc.def.ghi" {
		t.Fatalf("cookie: %q %v", got, err)
	}
	got, err = v.ExtractToken(nil, "x=1&access_token=q.r.s")
	if err != nil || got != "q.r.s" {
		t.Fatalf("query: %q %v", got, err)
	}
	if _, err := v.ExtractToken(map[string][]string{"Authorization": {"Bearer a.b.c"}}, ""); !errors.Is(err, ErrTokenMissing) {
		t.Fatalf("bearer not configured: %v", err)
	}
}

// A token is extracted whatever its length up to the largest max_token_size (1 MiB):
// the output buffer is sized from the request, not fixed.
func TestExtractTokenOfAnyLength(t *testing.T) {
	cfg := hsConfig()
	cfg.MaxTokenSize = 1 << 20
	cfg.TokenSources = []TokenSource{{Header: &HeaderSource{Name: "Authorization", Scheme: "Bearer"}}, {Query: &NamedSource{Name: "access_token"}}}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, n := range []int{3, 4095, 65535, 65536, 200_000, 1 << 20} {
		token := strings.Repeat("a", n-2) + ".b"
		got, err := v.ExtractToken(map[string][]string{"Authorization": {"Bearer " + token}}, "")
		if err != nil || got != token {
			t.Fatalf("header, %d bytes: %d bytes back, %v", n, len(got), err)
		}
		got, err = v.ExtractToken(nil, "x=1&access_token="+token)
		if err != nil || got != token {
			t.Fatalf("query, %d bytes: %d bytes back, %v", n, len(got), err)
		}
	}
}

// Only the headers the engine names are copied into C; the verdicts stay those of the
// whole request, whatever the letter case and whatever other headers come along.
func TestExtractionReadsOnlyNamedHeaders(t *testing.T) {
	cfg := hsConfig()
	cfg.TokenSources = []TokenSource{{Header: &HeaderSource{Name: "X-Api-Token", Prefix: "Token "}}, {Cookie: &NamedSource{Name: "session"}}}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if got := strings.Join(v.headerNames, ","); got != "x-api-token,cookie" {
		t.Fatalf("header names: %q", got)
	}
	noise := func(extra map[string][]string) map[string][]string {
		h := map[string][]string{"Host": {"api.test"}, "Accept": {"*/*"}, "X-Api-Tokens": {"Token not-this"}}
		for k, vals := range extra {
			h[k] = vals
		}
		return h
	}
	for _, h := range []map[string][]string{
		noise(map[string][]string{"X-API-TOKEN": {"Token a.b.c"}}),
		noise(map[string][]string{"x-api-token": {"Token a.b.c"}}),
		noise(map[string][]string{"Cookie": {"x=1; session=a.b.c"}}),
	} {
		if got, err := v.ExtractToken(h, ""); err != nil || got != "a.b.c" {
			t.Fatalf("%v: %q %v", h, got, err)
		}
	}
	if _, err := v.ExtractToken(noise(nil), ""); !errors.Is(err, ErrTokenMissing) {
		t.Fatalf("noise only: %v", err)
	}
	twice := noise(map[string][]string{"X-Api-Token": {"Token a.b.c", "Token d.e.f"}})
	if _, err := v.ExtractToken(twice, ""); !errors.Is(err, ErrTokenMalformed) {
		t.Fatalf("sent twice: %v", err)
	}
	bearer := newHS(t)
	if got := strings.Join(bearer.headerNames, ","); got != "authorization" {
		t.Fatalf("default header names: %q", got)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// A registered claim of an unexpected shape reads as absent; the others still read.
func TestRegisteredClaimsOfAnotherShape(t *testing.T) {
	v := newHS(t)
	claims := goodClaims()
	claims["sub"] = 42
	claims["jti"] = []string{"x"}
	tok, err := v.Verify(context.Background(), mintHS256(t, claims))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Subject() != "" || tok.ID() != "" || tok.Issuer() != "https://issuer.test" || tok.ExpiresAt().IsZero() {
		t.Fatalf("sub %q jti %q iss %q exp %v", tok.Subject(), tok.ID(), tok.Issuer(), tok.ExpiresAt())
	}
}

// The accessors read top-level members only, past strings and containers that look like
// them, with escaped names decoded (the engine's JSON parser, not a scanner of Go's own).
func TestAccessorsReadTopLevelOnly(t *testing.T) {
	obj := ` { "n": {"sub": "inner", "x": ["}", "\"sub\""]}, "s\u0075b": "outer\"q", "exp": 1.5e3 , "aud": ["a", "b"], "z": null }`
	tok := &Token{claimsJSON: obj, record: recordOfClaims(obj)}
	if tok.Subject() != `outer"q` || tok.ExpiresAt().Unix() != 1500 || len(tok.Audiences()) != 2 {
		t.Fatalf("accessors: %q %v %v", tok.Subject(), tok.ExpiresAt(), tok.Audiences())
	}
}

// Tokens past the size verifyInto makes a buffer for still verify (through the handle
// path, with every accessor), and one past max_token_size is refused: its size sets no
// allocation (4 times a hostile token's size, before).
func TestLargeTokensVerifyAndHugeOnesAreRefused(t *testing.T) {
	cfg := hsConfig()
	cfg.MaxTokenSize = 1 << 20
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for _, pad := range []int{10_000, 60_000, 300_000} {
		claims := goodClaims()
		claims["pad"] = strings.Repeat("x", pad)
		token := mintHS256(t, claims)
		tok, err := v.Verify(context.Background(), token)
		if err != nil || tok.Subject() != "alice" || len(tok.Claims()["pad"].(string)) != pad {
			t.Fatalf("a %d-byte token: %v", len(token), err)
		}
	}
	huge := mintHS256(t, map[string]any{"pad": strings.Repeat("x", 2<<20)})
	if _, err := v.Verify(context.Background(), huge); !errors.Is(err, ErrTokenMalformed) {
		t.Fatalf("a %d-byte token: %v", len(huge), err)
	}
}

// A header value with a NUL byte (possible in a map built by the caller; net/http refuses
// them) is still a header: a second Authorization with one is still a second one, and the
// verdicts are those of the same request without the NUL's value.
func TestHeaderValuesWithNULKeepTheirVerdict(t *testing.T) {
	v := newHS(t)
	good := mintHS256(t, goodClaims())
	twice := func(second string) error {
		_, err := v.ExtractToken(map[string][]string{"Authorization": {"Bearer " + good, second}}, "")
		return err
	}
	plain, withNUL := twice("Bearer other"), twice("Bearer oth\x00er")
	var a, b *Error
	if !errors.As(plain, &a) || !errors.As(withNUL, &b) || a.Code != b.Code {
		t.Fatalf("two Authorization headers: %v; with a NUL in the second: %v", plain, withNUL)
	}
	r := httptest.NewRequest("GET", "http://api.test/", nil)
	r.Header["Authorization"] = []string{"Bearer " + good[:10] + "\x00" + good[10:]}
	if _, err := v.VerifyRequest(context.Background(), r, "http://api.test/"); !errors.Is(err, ErrTokenMalformed) {
		t.Fatalf("a NUL inside the token: %v", err)
	}
}

// A claim name is handed back whole (a 127-byte buffer cut it short; other bindings
// return all of it).
func TestLongClaimNamesAreWhole(t *testing.T) {
	long := strings.Repeat("c", 200)
	config := hsConfig()
	config.Issuers[0].RequiredClaims = []string{long}
	v, err := New(config)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = v.Verify(context.Background(), mintHS256(t, goodClaims()))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeClaimMissing {
		t.Fatalf("%v", err)
	}
	if e.Claim != long {
		t.Fatalf("claim %d bytes, want %d", len(e.Claim), len(long))
	}
}
