package veritoken

/*
#include <stdlib.h>
#include "veritoken.h"
*/
import "C"

import (
	"encoding/json"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Token is a verified token: its claims and protected header, exactly as the engine
// accepted them. Safe for concurrent use.
type Token struct {
	claimsJSON string
	headerJSON string

	claimsOnce, headerOnce, registeredOnce sync.Once

	claims     map[string]any
	header     map[string]any
	registered registeredClaims
}

// registeredClaims are decoded into a struct on their own: far cheaper than the full map
// when a handler only needs the subject or the expiry.
// Members are untyped so that one decode always succeeds; a member of another shape than
// expected reads as absent.
type registeredClaims struct {
	Iss, Sub, Jti any
	Exp, Nbf, Iat any
	Aud           json.RawMessage
}

// ClaimsJSON is the verified claims as JSON text.
func (t *Token) ClaimsJSON() string { return t.claimsJSON }

// HeaderJSON is the protected header as JSON text.
func (t *Token) HeaderJSON() string { return t.headerJSON }

// Claims is the verified claims (numbers as json.Number), decoded on first use.
func (t *Token) Claims() map[string]any {
	t.claimsOnce.Do(func() { t.claims = decodeObject(t.claimsJSON) })
	return t.claims
}

// Header is the protected header, decoded on first use.
func (t *Token) Header() map[string]any {
	t.headerOnce.Do(func() { t.header = decodeObject(t.headerJSON) })
	return t.header
}

// UnmarshalClaims decodes the claims into v, like json.Unmarshal (for a typed struct).
func (t *Token) UnmarshalClaims(v any) error {
	return json.Unmarshal([]byte(t.claimsJSON), v)
}

// decodeObject decodes JSON the engine already validated as an object.
func decodeObject(text string) map[string]any {
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	if d.Decode(&m) != nil || m == nil {
		m = map[string]any{}
	}
	return m
}

// reg decodes the registered claims. The engine has checked their types (strings for
// iss/sub/jti, numbers for dates) for every claim it enforces; anything it let through in
// another shape reads as absent here.
func (t *Token) reg() *registeredClaims {
	t.registeredOnce.Do(func() { _ = json.Unmarshal([]byte(t.claimsJSON), &t.registered) })
	return &t.registered
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func date(v any) time.Time {
	if f, ok := v.(float64); ok {
		return time.Unix(int64(f), 0)
	}
	return time.Time{}
}

// Issuer is "iss".
func (t *Token) Issuer() string { return str(t.reg().Iss) }

// Subject is "sub" ("" when absent).
func (t *Token) Subject() string { return str(t.reg().Sub) }

// ID is "jti" ("" when absent).
func (t *Token) ID() string { return str(t.reg().Jti) }

// Audiences is "aud" as a list (a single string becomes one element).
func (t *Token) Audiences() []string {
	raw := t.reg().Aud
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// ExpiresAt is "exp" (the zero Time when absent).
func (t *Token) ExpiresAt() time.Time { return date(t.reg().Exp) }

// NotBefore is "nbf" (the zero Time when absent).
func (t *Token) NotBefore() time.Time { return date(t.reg().Nbf) }

// IssuedAt is "iat" (the zero Time when absent).
func (t *Token) IssuedAt() time.Time { return date(t.reg().Iat) }

// RequireScopes returns nil when the token grants every scope given (from "scope", "scp"
// and "permissions"); otherwise an *Error with CodeScopeInsufficient (or CodeClaimInvalid
// when a scope claim is malformed). The engine decides, as in every language.
func (t *Token) RequireScopes(scopes ...string) error {
	return t.requireScopes(scopes, false)
}

// RequireAnyScope is RequireScopes satisfied by any one of the scopes.
func (t *Token) RequireAnyScope(scopes ...string) error {
	return t.requireScopes(scopes, true)
}

// HasScopes reports whether the token grants every scope given.
func (t *Token) HasScopes(scopes ...string) bool { return t.RequireScopes(scopes...) == nil }

func (t *Token) requireScopes(scopes []string, matchAny bool) error {
	claims, ok := cText(t.claimsJSON)
	if !ok {
		return &Error{Code: CodeInternal, Message: "claims contain a NUL byte"}
	}
	return requireScopes(scopes, matchAny, func(list **C.char, n C.size_t, any C.int32_t, m *C.char, c *C.char, cn C.size_t) C.vt_result {
		return C.vt_claims_require_scopes(cPtr(claims), list, n, any, m, errBufSize, c, cn)
	})
}

type scopeCall func(list **C.char, n C.size_t, matchAny C.int32_t, msg *C.char, claim *C.char, claimLen C.size_t) C.vt_result

// requireScopes hands the scope list to the C library as a C array of C strings and maps
// the result.
func requireScopes(scopes []string, matchAny bool, call scopeCall) error {
	if len(scopes) == 0 {
		return nil
	}
	for _, s := range scopes {
		if strings.IndexByte(s, 0) >= 0 {
			return &Error{Code: CodeScopeInsufficient, Message: "a required scope contains a NUL byte"}
		}
	}
	arr := C.malloc(C.size_t(len(scopes)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(arr)
	slots := unsafe.Slice((**C.char)(arr), len(scopes))
	for i, s := range scopes {
		slots[i] = C.CString(s)
	}
	defer func() {
		for _, p := range slots {
			C.free(unsafe.Pointer(p))
		}
	}()
	var any C.int32_t
	if matchAny {
		any = 1
	}
	var msg [errBufSize]C.char
	var claim [128]C.char
	if r := call(&slots[0], C.size_t(len(scopes)), any, &msg[0], &claim[0], C.size_t(len(claim))); r != C.VT_OK {
		return callError(r, msg[:], claim[:], CodeInternal)
	}
	return nil
}
