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

// Realm sets the realm of the WWW-Authenticate challenge.
func Realm(realm string) Option {
	return func(m *middleware) { m.realm = realm }
}

// ErrorHandler replaces the RFC 6750 response (for custom logging or bodies); it receives
// the *Error the engine gave.
func ErrorHandler(h func(http.ResponseWriter, *http.Request, *Error)) Option {
	return func(m *middleware) { m.onError = h }
}

type middleware struct {
	v        *Verifier
	scopes   []string
	matchAny bool
	realm    string
	onError  func(http.ResponseWriter, *http.Request, *Error)
}

// Middleware protects a handler: it finds the token where the configuration's
// token_sources say (Authorization: Bearer by default), verifies it, checks the required
// scopes, and puts the token on the request context (FromContext). Otherwise it answers
// like every veritoken middleware: 401 with a WWW-Authenticate Bearer challenge, 403 for
// insufficient scope, 503 when keys are unavailable, each with the JSON body
// {"error":{"code","message"[,"claim"]}}.
func Middleware(v *Verifier, opts ...Option) func(http.Handler) http.Handler {
	m := &middleware{v: v}
	for _, o := range opts {
		o(m)
	}
	if m.onError == nil {
		m.onError = m.writeError
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := m.authorize(r)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					e = &Error{Code: CodeInternal, Message: err.Error()}
				}
				m.onError(w, r, e)
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), tok)))
		})
	}
}

func (m *middleware) authorize(r *http.Request) (*Token, error) {
	raw, err := m.v.ExtractToken(r.Header, r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	return m.v.verify(r.Context(), raw, time.Now().Unix(), m.scopes, m.matchAny)
}

// WriteError answers a request with err the way Middleware does (status, RFC 6750
// challenge, JSON body); for handlers and frameworks that verify on their own.
func WriteError(w http.ResponseWriter, err *Error, realm string) {
	status := err.Code.HTTPStatus()
	if challenge := errorText(err, realm, true); challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(errorText(err, realm, false)))
}

func (m *middleware) writeError(w http.ResponseWriter, _ *http.Request, err *Error) {
	WriteError(w, err, m.realm)
}

// errorText is the engine's challenge (challenge=true) or JSON body for err.
func errorText(err *Error, realm string, challenge bool) string {
	code := err.Code
	if code < CodeTokenMissing || code > CodeInternal {
		code = CodeInternal
	}
	msg := C.CString(err.Message)
	defer C.free(unsafe.Pointer(msg))
	var out [2048]C.char
	var r C.vt_result
	if challenge {
		var crealm *C.char
		if realm != "" {
			crealm = C.CString(realm)
			defer C.free(unsafe.Pointer(crealm))
		}
		r = C.vt_error_challenge(C.vt_result(code), msg, crealm, &out[0], C.size_t(len(out)))
	} else {
		claim := C.CString(err.Claim)
		defer C.free(unsafe.Pointer(claim))
		r = C.vt_error_body(C.vt_result(code), msg, claim, &out[0], C.size_t(len(out)))
	}
	if r != C.VT_OK {
		if challenge {
			return "Bearer"
		}
		return `{"error":{"code":"` + code.String() + `","message":""}}`
	}
	return C.GoString(&out[0])
}
