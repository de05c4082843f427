package veritoken

/*
#include <stdlib.h>
#include "veritoken.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
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
	// headerNames are the request headers the engine's extraction reads (lowercase); only
	// those are copied into C memory per request. nil: copy every header.
	headerNames []string
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
	v := &Verifier{ptr: ptr, headerNames: credentialHeaderNames(ptr)}
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
// whose Code says why (errors.Is(err, ErrTokenExpired), ...). Cached keys answer at once;
// when keys must be fetched, Verify waits for the fetch (at most the issuer's
// jwks_cache.timeout_ms) or until ctx is done, whichever comes first.
func (v *Verifier) Verify(ctx context.Context, token string) (*Token, error) {
	return v.VerifyAt(ctx, token, time.Now().Unix())
}

// VerifyAt is Verify as if the time were now (Unix seconds); for tests and replays.
func (v *Verifier) VerifyAt(ctx context.Context, token string, now int64) (*Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if tok, done, err := v.verifyInto(token, now, false); done {
		return tok, err
	}
	// Keys are being fetched: wait, in a goroutine when ctx can be cancelled.
	type outcome struct {
		tok *Token
		err error
	}
	o, err := await(ctx, func() outcome {
		tok, _, err := v.verifyInto(token, now, true)
		return outcome{tok, err}
	}, nil)
	if err != nil {
		return nil, err
	}
	return o.tok, o.err
}

// await returns call(), run in a goroutine when ctx can be cancelled so that a cancelled
// ctx returns at once; the abandoned call still finishes, and its result goes to discard
// (when not nil).
func await[T any](ctx context.Context, call func() T, discard func(T)) (T, error) {
	if ctx.Done() == nil {
		return call(), nil
	}
	result := make(chan T, 1)
	go func() { result <- call() }()
	select {
	case r := <-result:
		return r, nil
	case <-ctx.Done():
		if discard != nil {
			go func() { discard(<-result) }()
		}
		var zero T
		return zero, ctx.Err()
	}
}

// intoScratch is what one vt_verify_into call writes: the claims and header JSON and the
// accessor record, their lengths, and the error buffers. Pooled, since passed to C it
// would otherwise be allocated on every call. A signed token's three parts take at most
// 4 * its length + 64 bytes (veritoken.h), so out fits tokens up to 2,032 bytes; longer
// ones get their own buffer. An introspection answer too large for it comes back as a
// token handle in overflow instead (verified once).
type intoScratch struct {
	errBufs
	out                               [8192]byte
	claimsLen, headerLen, accessorLen C.size_t
	overflow                          *C.vt_token
}

var intoPool = sync.Pool{New: func() any { return new(intoScratch) }}

// intoMaxToken is the longest token verifyInto makes a buffer for (4 times its size): far
// above the default max_token_size (16 KiB) and any real token.
const intoMaxToken = 64 << 10

// verifyInto is VerifyAt in one C call, without a token handle: the token's bytes are
// passed in place (with their length, so a NUL byte is just an invalid byte) and the JSON
// comes back in Go memory. done is false only when wait is false and keys must be fetched.
func (v *Verifier) verifyInto(token string, now int64, wait bool) (tok *Token, done bool, err error) {
	scratch := intoPool.Get().(*intoScratch)
	defer intoPool.Put(scratch)
	out := scratch.out[:]
	// Room for the largest answer a token of this size can have. Beyond intoMaxToken the
	// scratch buffer is tried as is: the engine refuses such a token (past max_token_size)
	// without writing, or hands it over as a handle, so a huge token costs no huge
	// allocation.
	if need := 4*len(token) + 64; need > len(out) && len(token) <= intoMaxToken {
		out = make([]byte, need)
	}
	r, closed := v.callInto(token, now, wait, out, scratch)
	switch {
	case closed:
		return nil, true, ErrClosed
	case r == C.VT_OK && scratch.overflow != nil:
		h := scratch.overflow
		scratch.overflow = nil
		defer C.vt_token_free(h)
		return tokenOfHandle(h), true, nil
	case r == C.VT_OK:
		c, h, a := int(scratch.claimsLen), int(scratch.headerLen), int(scratch.accessorLen)
		text := string(out[:c+h+a])
		return &Token{claimsJSON: text[:c], headerJSON: text[c : c+h], record: record(text[c+h:])}, true, nil
	case r == C.VT_WOULD_BLOCK:
		return nil, false, nil
	}
	return nil, true, callError(r, scratch.msg[:], scratch.claim[:], CodeTokenMalformed)
}

func (v *Verifier) callInto(token string, now int64, wait bool, out []byte, s *intoScratch) (r C.vt_result, closed bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ptr == nil {
		return 0, true
	}
	var w C.int32_t
	if wait {
		w = 1
	}
	r = C.vt_verify_into(v.ptr, (*C.char)(unsafe.Pointer(unsafe.StringData(token))), C.size_t(len(token)),
		C.int64_t(now), w, (*C.char)(unsafe.Pointer(&out[0])), C.size_t(len(out)),
		&s.claimsLen, &s.headerLen, &s.accessorLen, &s.overflow, &s.msg[0], errBufSize, &s.claim[0], C.size_t(len(s.claim)))
	runtime.KeepAlive(v)
	return r, false
}

// VerifyDPoP checks a token sent with the DPoP scheme (RFC 9449): proof is the request's
// DPoP header, method and url the request (url absolute: the one the client called; query
// and fragment are ignored). Otherwise like Verify; a replayed proof is refused.
func (v *Verifier) VerifyDPoP(ctx context.Context, token, proof, method, url string) (*Token, error) {
	return v.VerifyDPoPAt(ctx, token, proof, method, url, time.Now().Unix())
}

// VerifyDPoPAt is VerifyDPoP as if the time were now (Unix seconds).
func (v *Verifier) VerifyDPoPAt(ctx context.Context, token, proof, method, url string, now int64) (*Token, error) {
	args := make([][]byte, 4)
	for i, s := range []string{token, proof, method, url} {
		// Always whole: what cannot cross goes as U+FFFD, and the engine judges it.
		args[i], _ = cText(cSafe(s))
	}
	return v.verify(ctx, now, route{}, nil, func(p *C.vt_verifier, now C.int64_t, wait C.int32_t, out **C.vt_token, m, c *C.char, cn C.size_t) C.vt_result {
		return C.vt_verify_dpop_at(p, cPtr(args[0]), cPtr(args[1]), cPtr(args[2]), cPtr(args[3]), now, wait, out, m, errBufSize, c, cn)
	})
}

// VerifyRequest does what Middleware does for one request: it finds the token per the
// configured token_sources (with DPoP enabled, also Authorization: DPoP and its DPoP proof
// header) and verifies it. url is the absolute URL the client called, needed for DPoP
// (RequestURL gives it for a request served directly, without a proxy).
func (v *Verifier) VerifyRequest(ctx context.Context, r *http.Request, url string) (*Token, error) {
	return v.verifyRequest(ctx, r, url, time.Now().Unix(), route{})
}

// VerifyRequestOptional is VerifyRequest for a route that also serves anonymous callers:
// (nil, nil) when the request carries no token; a token that fails is still its error.
func (v *Verifier) VerifyRequestOptional(ctx context.Context, r *http.Request, url string) (*Token, error) {
	return v.verifyRequest(ctx, r, url, time.Now().Unix(), route{optional: true})
}

// route is what a middleware adds to a request's verification: the scopes and the
// compiled requirement to check, and whether a request without a token goes on anonymous.
type route struct {
	scopes   []string
	matchAny bool
	need     *Requirement
	optional bool
}

func (v *Verifier) verifyRequest(ctx context.Context, r *http.Request, url string, now int64, rt route) (*Token, error) {
	req := newCRequest(r.Header, v.headerNames, r.URL.RawQuery, r.Method, url)
	// The request is C memory: verify frees it after its last use, which is after this
	// returns when a cancelled ctx abandoned a call still waiting for keys.
	return v.verify(ctx, now, rt, req.free, func(p *C.vt_verifier, now C.int64_t, wait C.int32_t, out **C.vt_token, m, c *C.char, cn C.size_t) C.vt_result {
		if rt.optional {
			return C.vt_verify_request_optional_at(p, &req.c, now, wait, out, m, errBufSize, c, cn)
		}
		return C.vt_verify_request_at(p, &req.c, now, wait, out, m, errBufSize, c, cn)
	})
}

// RequestURL is the absolute URL of a request served directly: https when it came over
// TLS, the Host header, and the request URI. Behind a proxy, give the public URL instead.
func RequestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// cSafe is s as the C API takes text: NUL bytes and bytes that are not UTF-8 become
// U+FFFD, which no token, scheme, proof or URL accepts. The engine then judges the value
// as the other bindings and the sidecar have it read (a query with a raw Latin-1 byte next
// to a valid Authorization header is accepted), instead of the whole call failing.
func cSafe(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
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

// verification is one C verify call's outcome: a token handle or a failure.
type verification struct {
	handle *C.vt_token
	err    error
}

// verifyCall is one C verify entry point: wait 0 never waits for a key fetch.
type verifyCall func(p *C.vt_verifier, now C.int64_t, wait C.int32_t, out **C.vt_token, msg, claim *C.char, claimLen C.size_t) C.vt_result

// verify runs one verification: a non-waiting try first; only when keys must be fetched a
// waiting call, in a goroutine when ctx can be cancelled. Scopes, when given, are checked
// on the same handle; the claims are copied out and the handle freed. release (when not
// nil) frees what invoke reads, once invoke is done with it: when verify returns, or, if
// ctx abandoned a waiting call, when that call returns.
func (v *Verifier) verify(ctx context.Context, now int64, rt route, release func(), invoke verifyCall) (*Token, error) {
	abandoned := false
	defer func() {
		if release != nil && !abandoned {
			release()
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res, ok := v.call(invoke, now, false)
	if !ok { // keys are being fetched
		var err error
		res, err = await(ctx, func() verification {
			r, _ := v.call(invoke, now, true)
			return r
		}, func(r verification) { // the token of an abandoned call is not wanted
			if r.handle != nil {
				C.vt_token_free(r.handle)
			}
			if release != nil {
				release()
			}
		})
		if err != nil {
			abandoned = true // the discard above releases
			return nil, err
		}
	}
	if res.err != nil {
		return nil, res.err
	}
	if res.handle == nil { // an optional route's anonymous request
		return nil, nil
	}
	defer C.vt_token_free(res.handle)
	if len(rt.scopes) > 0 {
		if err := requireScopes(rt.scopes, rt.matchAny, func(list **C.char, n C.size_t, any C.int32_t, m *C.char, c *C.char, cn C.size_t) C.vt_result {
			return C.vt_token_require_scopes(res.handle, list, n, any, m, errBufSize, c, cn)
		}); err != nil {
			return nil, err
		}
	}
	if rt.need != nil {
		if err := rt.need.check(func(p *C.vt_requirement, b *errBufs) C.vt_result {
			return C.vt_token_check(res.handle, p, &b.msg[0], errBufSize, &b.claim[0], C.size_t(len(b.claim)))
		}); err != nil {
			return nil, err
		}
	}
	return tokenOfHandle(res.handle), nil
}

// tokenOfHandle copies a token handle's claims, header and accessor record into Go memory.
func tokenOfHandle(h *C.vt_token) *Token {
	claims := C.GoString(C.vt_token_claims_json(h))
	return &Token{
		claimsJSON: claims,
		headerJSON: C.GoString(C.vt_token_header_json(h)),
		record:     recordOfHandle(h, len(claims)),
	}
}

// call makes one C verify call (waiting for a key fetch or not). ok is false only when a
// non-waiting call found that keys must be fetched first.
func (v *Verifier) call(invoke verifyCall, now int64, wait bool) (res verification, ok bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ptr == nil {
		return verification{err: ErrClosed}, true
	}
	bufs := errBufPool.Get().(*errBufs)
	defer errBufPool.Put(bufs)
	var w C.int32_t
	if wait {
		w = 1
	}
	r := invoke(v.ptr, C.int64_t(now), w, &res.handle, &bufs.msg[0], &bufs.claim[0], C.size_t(len(bufs.claim)))
	runtime.KeepAlive(v)
	switch r {
	case C.VT_OK:
		return res, true
	case C.VT_WOULD_BLOCK:
		return res, false
	}
	return verification{err: callError(r, bufs.msg[:], bufs.claim[:], CodeTokenMalformed)}, true
}

// errBufs are the message and claim buffers of one verify call, reused: passed to C they
// would otherwise be allocated (and zeroed) on every call. C writes them, NUL-terminated,
// only on failure, which is also the only time they are read.
type errBufs struct {
	msg   [errBufSize]C.char
	claim [errBufSize]C.char
}

var errBufPool = sync.Pool{New: func() any { return new(errBufs) }}

// ExtractToken finds the token in headers and a raw query string the way the engine's
// configured token_sources say (Authorization: Bearer by default). Errors with
// CodeTokenMissing when there is none.
func (v *Verifier) ExtractToken(header map[string][]string, rawQuery string) (string, error) {
	req := newCRequest(header, v.headerNames, rawQuery, "", "")
	defer req.free()
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ptr == nil {
		return "", ErrClosed
	}
	var msg [errBufSize]C.char
	// Room for the longest string the token could be found in, and the NUL. Go memory
	// holding no Go pointers may be passed to C for the call.
	out := make([]byte, req.longest+1)
	c := &req.c
	r := C.vt_extract_token(v.ptr, c.header_names, c.header_values, c.header_count, c.query, (*C.char)(unsafe.Pointer(&out[0])), C.size_t(len(out)), &msg[0], errBufSize)
	runtime.KeepAlive(v)
	if r != C.VT_OK {
		return "", callError(r, msg[:], nil, CodeTokenMalformed)
	}
	return string(out[:bytes.IndexByte(out, 0)]), nil
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
	JWKSFetchesSkipped uint64            `json:"jwks_fetches_skipped"`
	KeyCacheHits       uint64            `json:"key_cache_hits"`
	KeyCacheMisses     uint64            `json:"key_cache_misses"`
	// Introspection (RFC 7662) requests sent, failed, and answered from the cache.
	IntrospectionRequests  uint64 `json:"introspection_requests"`
	IntrospectionFailures  uint64 `json:"introspection_failures"`
	IntrospectionCacheHits uint64 `json:"introspection_cache_hits"`
	// Answers read from the shared Redis store (another process's answer).
	IntrospectionStoreHits uint64 `json:"introspection_store_hits"`
	// The verified-token cache: verifications it answered, lookups that missed, and
	// entries replaced by another token.
	TokenCacheHits      uint64 `json:"token_cache_hits"`
	TokenCacheMisses    uint64 `json:"token_cache_misses"`
	TokenCacheEvictions uint64 `json:"token_cache_evictions"`
	// Redis commands (DPoP replay records, introspection answers), those that failed, and
	// their summed latency in microseconds.
	StoreRequests  uint64 `json:"store_requests"`
	StoreErrors    uint64 `json:"store_errors"`
	StoreLatencyUs uint64 `json:"store_latency_us"`
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

// credentialHeaderNames asks the engine which request headers its extraction reads
// (copying all of a request's headers into C memory cost more than the verification).
// nil, meaning every header is copied, if it cannot say.
func credentialHeaderNames(ptr *C.vt_verifier) []string {
	var msg [errBufSize]C.char
	var out [4096]C.char
	if C.vt_verifier_credential_header_names(ptr, &out[0], C.size_t(len(out)), &msg[0], errBufSize) != C.VT_OK {
		return nil
	}
	text := C.GoString(&out[0])
	if text == "" {
		return []string{}
	}
	return strings.Split(text, "\n")
}

// wanted reports whether the header called name is one the engine reads.
func wanted(names []string, name string) bool {
	if names == nil {
		return true
	}
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// cRequest is a request in C memory (the engine's vt_request); free releases it.
type cRequest struct {
	c     C.vt_request
	owned []unsafe.Pointer
	// longest is the length of the longest header value or query copied: a token found
	// in the request is a part of one of them, so it is never longer.
	longest int
}

// newCRequest copies the headers named in names (all when nil), the raw query and, for
// DPoP, the method and URL into C memory: the C side may hold no Go pointers. A C string
// is UTF-8 without NUL bytes, so other bytes go across as U+FFFD ([cSafe]): the value keeps
// its verdict, and a second Authorization is still a second one. (A header name with a
// NUL names no token source: left out.)
func newCRequest(header map[string][]string, names []string, rawQuery, method, url string) *cRequest {
	req := &cRequest{}
	// text copies s, "" included: an empty header is present (token_missing, as in
	// every other binding), not NULL (a bad argument to the C API).
	text := func(s string) *C.char {
		safe := cSafe(s)
		req.longest = max(req.longest, len(safe))
		b, _ := cText(safe)
		p := C.CBytes(b)
		req.owned = append(req.owned, p)
		return (*C.char)(p)
	}
	// cstr is text for the optional fields, where "" means absent (NULL).
	cstr := func(s string) *C.char {
		if s == "" {
			return nil
		}
		return text(s)
	}
	var cnames, values []*C.char
	for name, vals := range header {
		if !wanted(names, name) || strings.IndexByte(name, 0) >= 0 {
			continue
		}
		for _, val := range vals {
			cnames = append(cnames, text(name))
			values = append(values, text(val))
		}
	}
	if len(cnames) > 0 {
		arr := C.malloc(C.size_t(2*len(cnames)) * C.size_t(unsafe.Sizeof(uintptr(0))))
		req.owned = append(req.owned, arr)
		slots := unsafe.Slice((**C.char)(arr), 2*len(cnames))
		copy(slots, cnames)
		copy(slots[len(cnames):], values)
		req.c.header_names = &slots[0]
		req.c.header_values = &slots[len(cnames)]
		req.c.header_count = C.size_t(len(cnames))
	}
	req.c.query = cstr(rawQuery)
	req.c.method = cstr(method)
	req.c.url = cstr(url)
	return req
}

func (r *cRequest) free() {
	for _, p := range r.owned {
		C.free(p)
	}
	r.owned = nil
	if testHookRequestFreed != nil {
		testHookRequestFreed()
	}
}

// testHookRequestFreed, when set by a test, runs after a request's C copy is freed.
var testHookRequestFreed func()
