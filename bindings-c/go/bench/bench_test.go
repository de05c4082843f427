// Package bench compares veritoken for Go with golang-jwt/jwt v5 (and keyfunc v3 for the
// JWKS path) on the same tokens and keys, with equivalent checks on both sides: the
// algorithm allow-list, issuer, audience and a required exp. Run with `make bench`.
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
	"math/big"
	"net/http"
	"net/http/httptest"
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
	v, err := veritoken.New(veritoken.Config{Issuers: []veritoken.IssuerConfig{{
		Issuer: issuer, Audiences: []string{audience}, Algorithms: []string{alg},
		Keys: []veritoken.KeySource{key},
	}}})
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
