package veritoken

/*
#include <stdlib.h>
#include "veritoken.h"
*/
import "C"

import (
	"bytes"
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

	claimsOnce, headerOnce, accessorsOnce sync.Once

	claims    map[string]any
	header    map[string]any
	accessors *accessors
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

// accessors is what the engine reads the registered claims as (vt_claims_accessors_json):
// the one rule of every veritoken language. The Go side only converts the types.
type accessors struct {
	Issuer    string   `json:"issuer"`
	Subject   *string  `json:"subject"`
	JWTID     *string  `json:"jwt_id"`
	Audiences []string `json:"audiences"`
	ExpiresAt *int64   `json:"expires_at"`
	NotBefore *int64   `json:"not_before"`
	IssuedAt  *int64   `json:"issued_at"`
	DPoPJKT   *string  `json:"dpop_jkt"`
	Scopes    []string `json:"scopes"`
	// ScopesError is the code granting scopes fails with ("claim_invalid"), else "".
	ScopesError *string `json:"scopes_error"`
}

// read is the engine's accessors of the claims, asked for once per token.
func (t *Token) read() *accessors {
	t.accessorsOnce.Do(func() {
		t.accessors = &accessors{}
		if text, ok := claimAccessorsJSON(t.claimsJSON); ok {
			_ = json.Unmarshal(text, t.accessors)
		}
	})
	return t.accessors
}

// claimAccessorsJSON is vt_claims_accessors_json of claims: the buffer first sized for
// typical claims, then for the worst case the engine reports.
func claimAccessorsJSON(claims string) ([]byte, bool) {
	if claims == "" {
		return nil, false
	}
	for _, size := range []int{len(claims) + 512, 6*len(claims) + 512} {
		out := make([]byte, size)
		r := C.vt_claims_accessors_json((*C.char)(unsafe.Pointer(unsafe.StringData(claims))), C.size_t(len(claims)),
			(*C.char)(unsafe.Pointer(&out[0])), C.size_t(len(out)), nil, 0)
		if r == C.VT_OK {
			return out[:bytes.IndexByte(out, 0)], true
		}
		if r != C.VT_BUFFER_TOO_SMALL {
			return nil, false
		}
	}
	return nil, false
}

func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// date is a NumericDate accessor as a Time (the zero Time when absent).
func date(seconds *int64) time.Time {
	if seconds == nil {
		return time.Time{}
	}
	return time.Unix(*seconds, 0)
}

// Issuer is "iss" ("" when absent or not a string).
func (t *Token) Issuer() string { return t.read().Issuer }

// Subject is "sub" ("" when absent or not a string).
func (t *Token) Subject() string { return orEmpty(t.read().Subject) }

// ID is "jti" ("" when absent or not a string).
func (t *Token) ID() string { return orEmpty(t.read().JWTID) }

// DPoPJKT is "cnf.jkt", the thumbprint of the key a DPoP-bound token is bound to ("" when none).
func (t *Token) DPoPJKT() string { return orEmpty(t.read().DPoPJKT) }

// Audiences is "aud" as a list: a single string becomes one element, the strings of an
// array are kept in order (other entries left out). The caller may modify the slice.
func (t *Token) Audiences() []string { return append([]string(nil), t.read().Audiences...) }

// ExpiresAt is "exp" in whole seconds (the zero Time when absent or not a number). The
// fraction is dropped toward zero and the value clamped to +/-8,640,000,000,000 s.
func (t *Token) ExpiresAt() time.Time { return date(t.read().ExpiresAt) }

// NotBefore is "nbf", as ExpiresAt.
func (t *Token) NotBefore() time.Time { return date(t.read().NotBefore) }

// IssuedAt is "iat", as ExpiresAt.
func (t *Token) IssuedAt() time.Time { return date(t.read().IssuedAt) }

// GrantedScopes is every scope the token grants ("scope", "scp", then "permissions"); an
// *Error with CodeClaimInvalid when one of those claims has the wrong type.
func (t *Token) GrantedScopes() ([]string, error) {
	a := t.read()
	if a.ScopesError != nil {
		return nil, &Error{Code: codeNamed(*a.ScopesError), Message: "a scope claim has the wrong type"}
	}
	return append([]string{}, a.Scopes...), nil
}

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

// codeNamed is the code the engine calls name (CodeInternal for a name it does not have).
func codeNamed(name string) Code {
	for c := Code(1); c.String() != "unknown"; c++ {
		if c.String() == name {
			return c
		}
	}
	return CodeInternal
}
