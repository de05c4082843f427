package veritoken

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// closedPort is a loopback port nothing listens on (bound, then released).
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// failFetch verifies an RS256 token against a jwks_uri that cannot be reached.
func failFetch(t *testing.T) string {
	cfg := Config{Issuers: []IssuerConfig{{
		Issuer:     "https://issuer.test",
		Audiences:  []string{"api"},
		Algorithms: []string{"RS256"},
		JWKSURI:    fmt.Sprintf("http://u:hunter2@127.0.0.1:%d/jwks?k=s3cr3t", closedPort(t)),
		JWKSCache:  &JWKSCacheConfig{TimeoutMs: 2000, AllowHTTP: true},
	}}}
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	enc := base64.RawURLEncoding
	token := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"k"}`)) + "." +
		enc.EncodeToString([]byte(`{"iss":"https://issuer.test","aud":"api","exp":4102444800}`)) + ".c2ln"
	_, err = v.Verify(context.Background(), token)
	var ve *Error
	if !errors.As(err, &ve) || ve.Code != CodeJWKSUnavailable {
		t.Fatalf("want jwks_unavailable, got %v", err)
	}
	return token
}

// syncBuffer is a bytes.Buffer for handlers written to from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogFetchFailureReachesSlog(t *testing.T) {
	var out syncBuffer
	SetLogHandler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() { SetLogHandler(nil) })
	token := failFetch(t)
	logs := out.String()
	if !strings.Contains(logs, `level=WARN msg="key fetch failed; keeping the last good keys" issuer=https://issuer.test error=`) {
		t.Fatalf("no fetch failure in\n%s", logs)
	}
	if !strings.Contains(logs, `level=DEBUG msg="fetching keys"`) || !strings.Contains(logs, "target=veritoken::remote") {
		t.Fatalf("no debug record or target in\n%s", logs)
	}
	for _, secret := range []string{token, "hunter2", "s3cr3t"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("%q leaked into\n%s", secret, logs)
		}
	}
}

func TestLogDefaultIsSlogDefaultAndLevelsFilter(t *testing.T) {
	var out syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn})))
	t.Cleanup(func() { slog.SetDefault(old) })
	SetLogHandler(nil)
	failFetch(t)
	logs := out.String()
	if !strings.Contains(logs, "key fetch failed") {
		t.Fatalf("slog.Default() got no fetch failure:\n%s", logs)
	}
	if strings.Contains(logs, "level=DEBUG") || strings.Contains(logs, "level=INFO") {
		t.Fatalf("records below WARN passed the handler's level:\n%s", logs)
	}
	if slogLevel(5) != LevelTrace || slogLevel(1) != slog.LevelError {
		t.Fatal("level mapping")
	}
}

// panicHandler is a slog.Handler whose Handle panics, counting its calls.
type panicHandler struct{ calls *int64 }

func (panicHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h panicHandler) Handle(context.Context, slog.Record) error {
	atomic.AddInt64(h.calls, 1)
	panic("a broken log handler")
}
func (h panicHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicHandler) WithGroup(string) slog.Handler      { return h }

// A handler that panics loses its records and nothing else: the verification still gets
// its answer, and the engine's logs reach the next handler set.
func TestPanickingLogHandlerStaysOnTheGoSide(t *testing.T) {
	var calls int64
	SetLogHandler(panicHandler{&calls})
	t.Cleanup(func() { SetLogHandler(nil) })
	failFetch(t) // jwks_unavailable, as without a handler
	if atomic.LoadInt64(&calls) == 0 {
		t.Fatal("the handler was never called")
	}
	var out syncBuffer
	SetLogHandler(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	failFetch(t)
	if !strings.Contains(out.String(), "key fetch failed") {
		t.Fatalf("no records after the panicking handler:\n%s", out.String())
	}
}
