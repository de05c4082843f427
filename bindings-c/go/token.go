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

	// record is the engine's accessor record (see record below).
	record record

	claimsOnce, headerOnce sync.Once

	claims map[string]any
	header map[string]any
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

// record is the engine's accessor record of the claims (see vt_verify_into in
// veritoken.h): every registered claim as the engine reads it, the one rule of every
// veritoken language. The Go side only slices it; "" reads as no claims at all.
type record string

const (
	hasSubject = 1 << iota
	hasJWTID
	hasDPoPJKT
	hasExpiresAt
	hasNotBefore
	hasIssuedAt
	scopesMalformed
)

// textsAt is where the record's texts start: the flags and the three dates.
const textsAt = 4 + 3*8

func (r record) u32(at int) uint32 {
	return uint32(r[at]) | uint32(r[at+1])<<8 | uint32(r[at+2])<<16 | uint32(r[at+3])<<24
}

func (r record) flag(bit uint32) bool { return len(r) >= textsAt && r.u32(0)&bit != 0 }

// text is the text at offset at and the offset after it.
func (r record) text(at int) (string, int) {
	end := at + 4 + int(r.u32(at))
	return string(r[at+4 : end]), end
}

// nth is the nth of the texts issuer, subject, jwt_id, dpop_jkt.
func (r record) nth(n int) string {
	if len(r) < textsAt {
		return ""
	}
	at := textsAt
	for ; n > 0; n-- {
		_, at = r.text(at)
	}
	s, _ := r.text(at)
	return s
}

// list is the nth list after the four texts (0 audiences, 1 scopes), copied.
func (r record) list(n int) []string {
	if len(r) < textsAt {
		return []string{}
	}
	at := textsAt
	for i := 0; i < 4; i++ {
		_, at = r.text(at)
	}
	for ; ; n-- {
		count := int(r.u32(at))
		at += 4
		if n == 0 {
			out := make([]string, count)
			for i := range out {
				out[i], at = r.text(at)
			}
			return out
		}
		for i := 0; i < count; i++ {
			_, at = r.text(at)
		}
	}
}

// date is a NumericDate of the record as a Time (the zero Time when absent).
func (r record) date(n int, bit uint32) time.Time {
	if !r.flag(bit) {
		return time.Time{}
	}
	at := 4 + 8*n
	seconds := uint64(r.u32(at)) | uint64(r.u32(at+4))<<32
	return time.Unix(int64(seconds), 0)
}

// recordOfClaims is vt_claims_accessor_record of claims text ("" when it is not a JSON
// object), for tokens built from their text.
func recordOfClaims(claims string) record {
	if claims == "" {
		return ""
	}
	return readRecord(len(claims), func(out *C.char, size C.size_t, n *C.size_t) C.vt_result {
		return C.vt_claims_accessor_record((*C.char)(unsafe.Pointer(unsafe.StringData(claims))),
			C.size_t(len(claims)), out, size, n, nil, 0)
	})
}

// recordOfHandle is vt_token_accessor_record of a verified token's handle.
func recordOfHandle(h *C.vt_token, claimsLen int) record {
	return readRecord(claimsLen, func(out *C.char, size C.size_t, n *C.size_t) C.vt_result {
		return C.vt_token_accessor_record(h, out, size, n)
	})
}

// readRecord makes one record call into a buffer of the size veritoken.h promises for
// claims of claimsLen bytes ("" when the call fails).
func readRecord(claimsLen int, call func(out *C.char, size C.size_t, n *C.size_t) C.vt_result) record {
	out := make([]byte, 3*claimsLen+64)
	var n C.size_t
	if call((*C.char)(unsafe.Pointer(&out[0])), C.size_t(len(out)), &n) != C.VT_OK {
		return ""
	}
	return record(out[:n])
}

// Issuer is "iss" ("" when absent or not a string).
func (t *Token) Issuer() string { return t.record.nth(0) }

// Subject is "sub" ("" when absent or not a string).
func (t *Token) Subject() string { return t.record.nth(1) }

// ID is "jti" ("" when absent or not a string).
func (t *Token) ID() string { return t.record.nth(2) }

// DPoPJKT is "cnf.jkt", the thumbprint of the key a DPoP-bound token is bound to ("" when none).
func (t *Token) DPoPJKT() string { return t.record.nth(3) }

// Audiences is "aud" as a list: a single string becomes one element, the strings of an
// array are kept in order (other entries left out). The caller may modify the slice.
func (t *Token) Audiences() []string { return t.record.list(0) }

// ExpiresAt is "exp" in whole seconds (the zero Time when absent or not a number). The
// fraction is dropped toward zero and the value clamped to +/-8,640,000,000,000 s.
func (t *Token) ExpiresAt() time.Time { return t.record.date(0, hasExpiresAt) }

// NotBefore is "nbf", as ExpiresAt.
func (t *Token) NotBefore() time.Time { return t.record.date(1, hasNotBefore) }

// IssuedAt is "iat", as ExpiresAt.
func (t *Token) IssuedAt() time.Time { return t.record.date(2, hasIssuedAt) }

// GrantedScopes is every scope the token grants ("scope", "scp", then "permissions"); an
// *Error with CodeClaimInvalid when one of those claims has the wrong type.
func (t *Token) GrantedScopes() ([]string, error) {
	if t.record.flag(scopesMalformed) {
		// The engine's error, naming the claim: asked for any scope, it reads the scope
		// claims first and fails on the malformed one.
		if err := t.requireScopes([]string{"any"}, false); err != nil {
			return nil, err
		}
		return nil, &Error{Code: CodeInternal, Message: "the engine read the scope claims two ways"}
	}
	return t.record.list(1), nil
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
	arr := C.malloc(C.size_t(len(scopes)) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(arr)
	slots := unsafe.Slice((**C.char)(arr), len(scopes))
	for i, s := range scopes {
		// Whole, as the engine takes text (cSafe): it decides, as in every language.
		slots[i] = C.CString(cSafe(s))
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
	var claim [errBufSize]C.char
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
