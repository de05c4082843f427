package veritoken

/*
#include <stdlib.h>
#include "veritoken.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// live counts verifiers not yet freed (for the finalizer tests).
var live atomic.Int64

// Verifier verifies tokens with one configuration and one key cache. It is safe for
// concurrent use; make one per configuration and share it. Close frees it (a finalizer
// does so too if you forget; Close is idempotent).
type Verifier struct {
	mu  sync.RWMutex // held for reading by every call, for writing by Close
	ptr *C.vt_verifier
}

// New builds a verifier from a Config. Remote key sets are fetched in the background
// unless the issuer's JWKSCache.WaitAtStartup is set.
func New(cfg Config) (*Verifier, error) {
	text, err := json.Marshal(cfg)
	if err != nil {
		return nil, &Error{Code: CodeConfigInvalid, Message: err.Error()}
	}
	return NewFromJSON(text)
}

// NewFromJSON builds a verifier from the configuration as JSON text.
func NewFromJSON(config []byte) (*Verifier, error) {
	return construct(string(config), "configuration", func(arg *C.char, out **C.vt_verifier, msg *C.char) C.vt_result {
		return C.vt_verifier_new(arg, out, msg, errBufSize)
	})
}

// NewFromFile builds a verifier from a configuration file (.json, .toml, .yaml).
func NewFromFile(path string) (*Verifier, error) {
	return construct(path, "path", func(arg *C.char, out **C.vt_verifier, msg *C.char) C.vt_result {
		return C.vt_verifier_from_file(arg, out, msg, errBufSize)
	})
}

func construct(arg, what string, call func(*C.char, **C.vt_verifier, *C.char) C.vt_result) (*Verifier, error) {
	if strings.IndexByte(arg, 0) >= 0 {
		return nil, &Error{Code: CodeConfigInvalid, Message: "the " + what + " contains a NUL byte"}
	}
	carg := C.CString(arg)
	defer C.free(unsafe.Pointer(carg))
	var msg [errBufSize]C.char
	var ptr *C.vt_verifier
	if r := call(carg, &ptr, &msg[0]); r != C.VT_OK {
		return nil, callError(r, msg[:], nil, CodeConfigInvalid)
	}
	v := &Verifier{ptr: ptr}
	live.Add(1)
	runtime.SetFinalizer(v, (*Verifier).Close)
	return v, nil
}

// Close frees the verifier. Calls after the first do nothing; a Verify after Close returns
// ErrClosed. It waits for calls in flight.
func (v *Verifier) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ptr != nil {
		C.vt_verifier_free(v.ptr)
		v.ptr = nil
		live.Add(-1)
		runtime.SetFinalizer(v, nil)
	}
	return nil
}

// Verify checks token now. On success it returns the verified token; otherwise an *Error
// whose Code says why (errors.Is(err, ErrTokenExpired), ...). When keys must be fetched it
// waits at most the issuer's jwks_cache.timeout_ms; ctx is checked before starting (a
// call already under way is not interrupted).
func (v *Verifier) Verify(ctx context.Context, token string) (*Token, error) {
	return v.verify(ctx, token, nil, nil, false)
}

// VerifyAt is Verify as if the time were now (Unix seconds); for tests and replays.
func (v *Verifier) VerifyAt(ctx context.Context, token string, now int64) (*Token, error) {
	return v.verify(ctx, token, &now, nil, false)
}

// cText is s as a NUL-terminated C string in Go memory (no C allocation), or false when s
// holds a NUL byte and so cannot be passed whole.
func cText(s string) ([]byte, bool) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, false
	}
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b, true
}

func cPtr(b []byte) *C.char { return (*C.char)(unsafe.Pointer(&b[0])) }

// verify runs one verification and, when scopes are given, the scope check on the same
// token handle, then copies the claims out and frees the handle.
func (v *Verifier) verify(ctx context.Context, token string, now *int64, scopes []string, matchAny bool) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	text, ok := cText(token)
	if !ok {
		return nil, &Error{Code: CodeTokenMalformed, Message: "the token contains a NUL byte"}
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ptr == nil {
		return nil, ErrClosed
	}
	var msg [errBufSize]C.char
	var claim [128]C.char
	var handle *C.vt_token
	var r C.vt_result
	if now != nil {
		r = C.vt_verify_at(v.ptr, cPtr(text), C.int64_t(*now), &handle, &msg[0], errBufSize, &claim[0], C.size_t(len(claim)))
	} else {
		r = C.vt_verify(v.ptr, cPtr(text), &handle, &msg[0], errBufSize, &claim[0], C.size_t(len(claim)))
	}
	runtime.KeepAlive(v)
	if r != C.VT_OK {
		return nil, callError(r, msg[:], claim[:], CodeTokenMalformed)
	}
	defer C.vt_token_free(handle)
	if len(scopes) > 0 {
		if err := requireScopes(scopes, matchAny, func(list **C.char, n C.size_t, any C.int32_t, m *C.char, c *C.char, cn C.size_t) C.vt_result {
			return C.vt_token_require_scopes(handle, list, n, any, m, errBufSize, c, cn)
		}); err != nil {
			return nil, err
		}
	}
	return &Token{
		claimsJSON: C.GoString(C.vt_token_claims_json(handle)),
		headerJSON: C.GoString(C.vt_token_header_json(handle)),
	}, nil
}

// ExtractToken finds the token in headers and a raw query string the way the engine's
// configured token_sources say (Authorization: Bearer by default). Errors with
// CodeTokenMissing when there is none.
func (v *Verifier) ExtractToken(header map[string][]string, rawQuery string) (string, error) {
	var names, values []*C.char
	for name, vals := range header {
		cn, ok := cText(name)
		if !ok {
			continue
		}
		for _, val := range vals {
			cv, ok := cText(val)
			if !ok {
				continue // a NUL-bearing header cannot hold a token the engine would accept
			}
			names = append(names, (*C.char)(C.CBytes(cn)))
			values = append(values, (*C.char)(C.CBytes(cv)))
		}
	}
	defer func() {
		for i := range names {
			C.free(unsafe.Pointer(names[i]))
			C.free(unsafe.Pointer(values[i]))
		}
	}()
	var query *C.char
	if rawQuery != "" {
		if q, ok := cText(rawQuery); ok {
			query = (*C.char)(C.CBytes(q))
			defer C.free(unsafe.Pointer(query))
		}
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ptr == nil {
		return "", ErrClosed
	}
	var msg [errBufSize]C.char
	size := 1 << 16
	out := C.malloc(C.size_t(size))
	defer C.free(out)
	var pn, pv **C.char
	if len(names) > 0 {
		// C arrays of C pointers: Go memory may not hold pointers handed to C.
		arr := C.malloc(C.size_t(2*len(names)) * C.size_t(unsafe.Sizeof(uintptr(0))))
		defer C.free(arr)
		slots := unsafe.Slice((**C.char)(arr), 2*len(names))
		copy(slots, names)
		copy(slots[len(names):], values)
		pn, pv = &slots[0], &slots[len(names)]
	}
	r := C.vt_extract_token(v.ptr, pn, pv, C.size_t(len(names)), query, (*C.char)(out), C.size_t(size), &msg[0], errBufSize)
	runtime.KeepAlive(v)
	if r != C.VT_OK {
		return "", callError(r, msg[:], nil, CodeTokenMalformed)
	}
	return C.GoString((*C.char)(out)), nil
}

// Metrics is a snapshot of the verifier's counters.
type Metrics struct {
	Verified           uint64            `json:"verified"`
	Rejected           map[string]uint64 `json:"rejected"`
	JWKSFetches        uint64            `json:"jwks_fetches"`
	JWKSFetchFailures  uint64            `json:"jwks_fetch_failures"`
	JWKSNotModified    uint64            `json:"jwks_not_modified"`
	StaleServes        uint64            `json:"stale_serves"`
	CooldownRejections uint64            `json:"cooldown_rejections"`
	KeyCacheHits       uint64            `json:"key_cache_hits"`
	KeyCacheMisses     uint64            `json:"key_cache_misses"`
}

// Metrics returns the verifier's counters (accepted, rejected per code, JWKS fetches, ...).
func (v *Verifier) Metrics() (Metrics, error) {
	var m Metrics
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ptr == nil {
		return m, ErrClosed
	}
	var msg [errBufSize]C.char
	var out [8192]C.char
	r := C.vt_verifier_metrics_json(v.ptr, &out[0], C.size_t(len(out)), &msg[0], errBufSize)
	runtime.KeepAlive(v)
	if r != C.VT_OK {
		return m, callError(r, msg[:], nil, CodeInternal)
	}
	err := json.Unmarshal([]byte(C.GoString(&out[0])), &m)
	return m, err
}
