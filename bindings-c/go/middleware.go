package veritoken

/*
#include <stdlib.h>
#include "veritoken.h"
*/
import "C"

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"time"
	"unsafe"
)

type contextKey struct{}

// FromContext returns the token Middleware verified for this request.
func FromContext(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(contextKey{}).(*Token)
	return t, ok
}

// NewContext returns ctx carrying t (what Middleware does; useful in tests).
func NewContext(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, contextKey{}, t)
}

// Option configures Middleware.
type Option func(*middleware)

// RequireScopes makes Middleware answer 403 unless the token grants every scope given.
func RequireScopes(scopes ...string) Option {
	return func(m *middleware) { m.scopes, m.matchAny = scopes, false }
}

// RequireAnyScope makes Middleware answer 403 unless the token grants one of the scopes.
func RequireAnyScope(scopes ...string) Option {
	return func(m *middleware) { m.scopes, m.matchAny = scopes, true }
}

// RequireRoles makes Middleware answer 403 unless the token grants every role policy given,
// each "rn:role" or "rn:role@tenant" (read from the scope claim, go-authkit's shape). A
// malformed role panics when the middleware is built.
func RequireRoles(roles ...string) Option {
	return func(m *middleware) { m.roles, m.roleAny = roles, false }
}

// RequireAnyRole is RequireRoles with one of the roles enough.
func RequireAnyRole(roles ...string) Option {
	return func(m *middleware) { m.roles, m.roleAny = roles, true }
}

// Require makes Middleware answer 403 unless the token meets req (scopes, roles, claim
// rules; a failing rule names its claim). It is checked after RequireScopes/RequireRoles.
func Require(req *Requirement) Option {
	return func(m *middleware) { m.need = req }
}

// Optional lets a request without a token through to the handler anonymously
// (FromContext reports false); a token that fails is still refused, and a valid one must
// meet the route's requirements.
func Optional() Option {
	return func(m *middleware) { m.optional = true }
}

// Realm sets the realm of the WWW-Authenticate challenge.
func Realm(realm string) Option {
	return func(m *middleware) { m.realm = realm }
}

// PublicURL gives the absolute URL the client called, for DPoP proofs (htu). The default,
// RequestURL, suits a server reached directly; behind a proxy, build it from what the
// proxy vouches for (a configured host, X-Forwarded-Proto, ...).
func PublicURL(f func(*http.Request) string) Option {
	return func(m *middleware) { m.publicURL = f }
}

// ErrorHandler replaces the RFC 6750 response (for custom logging or bodies); it receives
// the *Error the engine gave.
func ErrorHandler(h func(http.ResponseWriter, *http.Request, *Error)) Option {
	return func(m *middleware) { m.onError = h }
}

type middleware struct {
	v         *Verifier
	scopes    []string
	matchAny  bool
	roles     []string
	roleAny   bool
	need      *Requirement
	roleNeed  *Requirement
	optional  bool
	realm     string
	publicURL func(*http.Request) string
	onError   func(http.ResponseWriter, *http.Request, *Error)
}

// Middleware protects a handler: it finds the token where the configuration's
// token_sources say (Authorization: Bearer by default; with DPoP enabled also
// Authorization: DPoP and its proof, checked against the method and PublicURL), verifies
// it, checks the required scopes, and puts the token on the request context
// (FromContext). Otherwise it answers like every veritoken middleware: 401 with a
// WWW-Authenticate challenge (Bearer, or DPoP per the configuration, with DPoP-Nonce when
// a nonce is needed), 403 for insufficient scope, 503 when keys are unavailable, each with
// the JSON body {"error":{"code","message"[,"claim"]}}. When the request's context ends
// while keys are fetched, the request is still refused (500 "internal"; never a silent
// 200), and the *Error given to the ErrorHandler wraps the context's error:
// errors.Is(e, context.Canceled) tells a client that left.
func Middleware(v *Verifier, opts ...Option) func(http.Handler) http.Handler {
	m := &middleware{v: v, publicURL: RequestURL}
	for _, o := range opts {
		o(m)
	}
	if m.onError == nil {
		m.onError = m.writeError
	}
	if len(m.roles) > 0 {
		spec := RequirementSpec{Roles: m.roles}
		if m.roleAny {
			spec.RoleMatch = "any"
		}
		m.roleNeed = mustRequirement(spec)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := m.authorize(r)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					e = &Error{Code: CodeInternal, Message: err.Error(), cause: err}
				}
				m.onError(w, r, e)
				return
			}
			if tok == nil { // anonymous, on an Optional route
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), tok)))
		})
	}
}

func (m *middleware) authorize(r *http.Request) (*Token, error) {
	rt := route{scopes: m.scopes, matchAny: m.matchAny, need: m.roleNeed, optional: m.optional}
	tok, err := m.v.verifyRequest(r.Context(), r, m.publicURL(r), time.Now().Unix(), rt)
	if err != nil || tok == nil || m.need == nil {
		return tok, err
	}
	return tok, tok.Check(m.need)
}

// WriteError answers a request with err the way Middleware does (status, RFC 6750
// challenge, JSON body); for handlers and frameworks that verify on their own.
func WriteError(w http.ResponseWriter, err *Error, realm string) {
	status := answerCode(err.Code).HTTPStatus()
	if challenge := errorText(err, realm, true); challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(errorText(err, realm, false)))
}

func (m *middleware) writeError(w http.ResponseWriter, _ *http.Request, err *Error) {
	m.v.WriteError(w, err, m.realm)
}

// WriteError answers a request with err as Middleware does with this verifier: like the
// package-level WriteError, plus the verifier's DPoP challenge and DPoP-Nonce.
func (v *Verifier) WriteError(w http.ResponseWriter, err *Error, realm string) {
	code := answerCode(err.Code)
	headers, ok := v.errorHeaders(code, err, realm)
	if !ok {
		WriteError(w, err, realm)
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(headers, "\r\n"), "\r\n") {
		if name, value, found := strings.Cut(line, ": "); found {
			w.Header().Set(name, value)
		}
	}
	w.WriteHeader(code.HTTPStatus())
	_, _ = w.Write([]byte(errorText(err, realm, false)))
}

// errorHeaders is the engine's "name: value\r\n" header lines for err from this verifier.
func (v *Verifier) errorHeaders(code Code, err *Error, realm string) (string, bool) {
	msg, claim, crealm := C.CString(err.Message), C.CString(err.Claim), (*C.char)(nil)
	defer C.free(unsafe.Pointer(msg))
	defer C.free(unsafe.Pointer(claim))
	if realm != "" {
		crealm = C.CString(realm)
		defer C.free(unsafe.Pointer(crealm))
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ptr == nil {
		return "", false
	}
	out := make([]C.char, textRoom(err.Message, err.Claim, realm)+1024)
	r := C.vt_verifier_error_headers(v.ptr, C.int32_t(code), msg, claim, crealm, &out[0], C.size_t(len(out)))
	runtime.KeepAlive(v)
	return C.GoString(&out[0]), r == C.VT_OK
}

// answerCode is the code a request is answered with for an error of code c: c itself when
// the engine gives it an HTTP status, internal otherwise (config_invalid, API misuse, a
// number that is no code).
func answerCode(c Code) Code {
	if C.vt_result_http_status(C.int32_t(c)) == 0 {
		return CodeInternal
	}
	return c
}

// errorText is the engine's challenge (challenge=true) or JSON body for err.
func errorText(err *Error, realm string, challenge bool) string {
	code := answerCode(err.Code)
	msg := C.CString(err.Message)
	defer C.free(unsafe.Pointer(msg))
	out := make([]C.char, textRoom(err.Message, err.Claim, realm))
	var r C.vt_result
	if challenge {
		var crealm *C.char
		if realm != "" {
			crealm = C.CString(realm)
			defer C.free(unsafe.Pointer(crealm))
		}
		r = C.vt_error_challenge(C.int32_t(code), msg, crealm, &out[0], C.size_t(len(out)))
	} else {
		claim := C.CString(err.Claim)
		defer C.free(unsafe.Pointer(claim))
		r = C.vt_error_body(C.int32_t(code), msg, claim, &out[0], C.size_t(len(out)))
	}
	if r != C.VT_OK {
		if challenge {
			return "Bearer"
		}
		return `{"error":{"code":"` + code.String() + `","message":""}}`
	}
	return C.GoString(&out[0])
}

// textRoom is a buffer size that holds the engine's rendering of these texts in a challenge
// or JSON body: escaping at most sextuples a byte (\u00XX), plus the fixed parts.
func textRoom(texts ...string) int {
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	return 6*n + 512
}
