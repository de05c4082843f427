// Package bench compares veritoken for Go with golang-jwt/jwt v5 (and keyfunc v3 for the
// JWKS path) on the same tokens and keys, with equivalent checks on both sides: the
// algorithm allow-list, issuer, audience and a required exp; then veritoken's
// verified-token cache and its 1- vs 2-goroutine throughput. Run with `make bench`.
package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	veritoken "github.com/veritoken/veritoken/bindings-c/go"
)

const (
	issuer   = "https://issuer.bench"
	audience = "api"
	secret   = "bench-secret-bench-secret-bench-secret-64-bytes-long-enough-yes"
)

type fixture struct {
	token string
	ours  *veritoken.Verifier
	key   any // golang-jwt's verification key
	alg   string
}

// cached is a verifier of f's token with the verified-token cache on, already holding it.
func (f fixture) cached(b *testing.B) *veritoken.Verifier {
	src := veritoken.KeySource{Secret: &veritoken.SecretKey{Value: secret, Alg: "HS256"}}
	if f.alg != "HS256" {
		src = veritoken.KeySource{PEM: &veritoken.PEMKey{Key: pemOf(b, f.key), Alg: f.alg}}
	}
	v := newVerifier(b, f.alg, src, &veritoken.CacheConfig{MaxEntries: 1024})
	if _, err := v.Verify(context.Background(), f.token); err != nil {
		b.Fatal(err)
	}
	return v
}

// requireHits fails the benchmark unless v answered every verification after its one
// priming miss from its token cache: the row measures hits, not full verifications. (A
// -test.bench filter may skip the row: then there were no hits and still one miss.)
func requireHits(b *testing.B, v *veritoken.Verifier) {
	m, err := v.Metrics()
	if err != nil || m.TokenCacheMisses != 1 {
		b.Fatalf("token cache: %+v, %v", m, err)
	}
}

func claims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": issuer, "aud": audience, "sub": "bench-user", "scope": "read write",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "8b3c8a1e-2f"}
}

func sign(b *testing.B, method jwt.SigningMethod, kid string, key any) string {
	t := jwt.NewWithClaims(method, claims())
	if kid != "" {
		t.Header["kid"] = kid
	}
	s, err := t.SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func pemOf(b *testing.B, pub any) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		b.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func verifier(b *testing.B, alg string, key veritoken.KeySource) *veritoken.Verifier {
	return newVerifier(b, alg, key, nil)
}

func newVerifier(b *testing.B, alg string, key veritoken.KeySource, cache *veritoken.CacheConfig) *veritoken.Verifier {
	v, err := veritoken.New(veritoken.Config{Issuers: []veritoken.IssuerConfig{{
		Issuer: issuer, Audiences: []string{audience}, Algorithms: []string{alg},
		Keys: []veritoken.KeySource{key},
	}}, Cache: cache})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	return v
}

func fixtures(b *testing.B) map[string]fixture {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return map[string]fixture{
		"RS256": {sign(b, jwt.SigningMethodRS256, "", rsaKey),
			verifier(b, "RS256", veritoken.KeySource{PEM: &veritoken.PEMKey{Key: pemOf(b, &rsaKey.PublicKey), Alg: "RS256"}}),
			&rsaKey.PublicKey, "RS256"},
		"ES256": {sign(b, jwt.SigningMethodES256, "", ecKey),
			verifier(b, "ES256", veritoken.KeySource{PEM: &veritoken.PEMKey{Key: pemOf(b, &ecKey.PublicKey), Alg: "ES256"}}),
			&ecKey.PublicKey, "ES256"},
		"HS256": {sign(b, jwt.SigningMethodHS256, "", []byte(secret)),
			verifier(b, "HS256", veritoken.KeySource{Secret: &veritoken.SecretKey{Value: secret, Alg: "HS256"}}),
			[]byte(secret), "HS256"},
	}
}

func golangJWTParse(token string, keyfn jwt.Keyfunc, alg string) error {
	_, err := jwt.Parse(token, keyfn, jwt.WithValidMethods([]string{alg}), jwt.WithIssuer(issuer),
		jwt.WithAudience(audience), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	return err
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []string{"RS256", "ES256", "HS256"} {
		f := fixtures(b)[alg]
		b.Run(alg+"/veritoken", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				tok, err := f.ours.Verify(ctx, f.token)
				if err != nil || tok.Subject() != "bench-user" {
					b.Fatal(err)
				}
			}
		})
		b.Run(alg+"/golang-jwt", func(b *testing.B) {
			keyfn := func(*jwt.Token) (any, error) { return f.key, nil }
			for i := 0; i < b.N; i++ {
				if err := golangJWTParse(f.token, keyfn, f.alg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The JWKS path: both sides fetch the same JWKS from a loopback server and cache it.
func BenchmarkJWKS(b *testing.B) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	enc := base64.RawURLEncoding
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": enc.EncodeToString(rsaKey.N.Bytes()),
		"e": enc.EncodeToString(big.NewInt(int64(rsaKey.E)).Bytes()),
	}}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(jwks)
	}))
	defer srv.Close()
	token := sign(b, jwt.SigningMethodRS256, "k1", rsaKey)
	ctx := context.Background()

	ours, err := veritoken.New(veritoken.Config{Issuers: []veritoken.IssuerConfig{{
		Issuer: issuer, Audiences: []string{audience}, Algorithms: []string{"RS256"},
		JWKSURI: srv.URL, JWKSCache: &veritoken.JWKSCacheConfig{WaitAtStartup: true},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	defer ours.Close()
	b.Run("RS256/veritoken", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := ours.Verify(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
	kf, err := keyfunc.NewDefaultCtx(ctx, []string{srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("RS256/golang-jwt+keyfunc", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := golangJWTParse(token, kf.Keyfunc, "RS256"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Throughput on every core: what a busy Go service sees.
func BenchmarkParallel(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []string{"RS256", "HS256"} {
		f := fixtures(b)[alg]
		b.Run(alg+"/veritoken", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := f.ours.Verify(ctx, f.token); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		b.Run(alg+"/golang-jwt", func(b *testing.B) {
			keyfn := func(*jwt.Token) (any, error) { return f.key, nil }
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := golangJWTParse(f.token, keyfn, f.alg); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// A verified-token cache hit: the same token again and again (budget ≤ 1 µs).
func BenchmarkCacheHit(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []string{"RS256", "ES256", "HS256"} {
		f := fixtures(b)[alg]
		v := f.cached(b)
		b.Run(alg+"/veritoken", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				tok, err := v.Verify(ctx, f.token)
				if err != nil || tok.Subject() != "bench-user" {
					b.Fatal(err)
				}
			}
		})
		requireHits(b, v)
	}
}

// Throughput of 1 vs 2 goroutines on 2 OS threads (GOMAXPROCS=2), one verifier shared by
// both: b.N verifications split between the goroutines, so ns/op is the inverse of the
// throughput and bench_go.py's 2-vs-1 ratio is ns/op(1) / ns/op(2) (budget ≥ 1.8×). The
// golang-jwt rows are the same loop in pure Go, no cgo: what this machine and the Go
// runtime give two goroutines, for scale.
//
// This process's live heap is near zero, so the collector's goal stays at its 4 MB
// minimum and hits (384 B each) start a cycle every ~7,500 (gctrace: 667 cycles in 5
// million hits on two goroutines). With one goroutine the collector runs on the idle core
// for free; with two it takes their time. BenchmarkThreadsLiveHeap runs the same rows
// with a 64 MB live heap, as a service holding that much would have.
func BenchmarkThreads(b *testing.B) { threads(b) }

// BenchmarkThreads with 64 MB held live (never touched, so it costs no resident memory):
// the collector's goal becomes ~128 MB, one cycle every ~160,000 hits (32 in 5 million).
func BenchmarkThreadsLiveHeap(b *testing.B) {
	ballast := make([]byte, 64<<20)
	threads(b)
	runtime.KeepAlive(ballast)
}

func threads(b *testing.B) {
	ctx := context.Background()
	prev := runtime.GOMAXPROCS(2)
	defer runtime.GOMAXPROCS(prev)
	all := fixtures(b)
	for _, name := range []string{"RS256", "ES256", "HS256", "RS256_hit", "HS256_hit", "RS256_golang_jwt", "HS256_golang_jwt"} {
		alg, _, _ := strings.Cut(name, "_")
		f := all[alg]
		var verify func() error
		var cached *veritoken.Verifier
		switch {
		case strings.HasSuffix(name, "_golang_jwt"):
			keyfn := func(*jwt.Token) (any, error) { return f.key, nil }
			verify = func() error { return golangJWTParse(f.token, keyfn, f.alg) }
		case strings.HasSuffix(name, "_hit"):
			cached = f.cached(b)
			verify = func() error { _, err := cached.Verify(ctx, f.token); return err }
		default:
			verify = func() error { _, err := f.ours.Verify(ctx, f.token); return err }
		}
		for _, n := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/%dgoroutines", name, n), func(b *testing.B) {
				var wg sync.WaitGroup
				for g := 0; g < n; g++ {
					calls := b.N / n
					if g < b.N%n {
						calls++
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < calls; i++ {
							if err := verify(); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
			})
		}
		if cached != nil {
			requireHits(b, cached)
		}
	}
}
