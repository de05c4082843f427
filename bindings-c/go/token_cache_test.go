package veritoken

import (
	"context"
	"errors"
	"testing"
)

// The opt-in verified-token cache through Go: a repeated token is a hit with the same
// answer, its expiry is judged again at every hit (the exact second), and a tampered copy
// is verified in full.
func TestTokenCache(t *testing.T) {
	const now = int64(1_767_225_600)
	cfg := hsConfig()
	cfg.Cache = &CacheConfig{MaxEntries: 100}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	token := mintHS256(t, map[string]any{"iss": "https://issuer.test", "aud": "api",
		"sub": "alice", "iat": now, "exp": now + 60})
	first, err := v.VerifyAt(ctx, token, now)
	if err != nil {
		t.Fatal(err)
	}
	again, err := v.VerifyAt(ctx, token, now+59)
	if err != nil || again.Subject() != first.Subject() || again.ClaimsJSON() != first.ClaimsJSON() {
		t.Fatalf("hit: %v %q", err, again.ClaimsJSON())
	}
	if _, err := v.VerifyAt(ctx, token, now+60); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired at the exact second: %v", err)
	}
	tampered := token[:len(token)-2] + "AA"
	if tampered == token {
		tampered = token[:len(token)-2] + "BB"
	}
	if _, err := v.VerifyAt(ctx, tampered, now); !errors.Is(err, ErrSignatureInvalid) {
		t.Fatalf("tampered copy: %v", err)
	}
	m, err := v.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if m.TokenCacheHits != 2 || m.TokenCacheMisses != 2 {
		t.Fatalf("hits %d, misses %d", m.TokenCacheHits, m.TokenCacheMisses)
	}
}
