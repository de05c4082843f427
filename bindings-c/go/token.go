package veritoken

/*
#include <stdlib.h>
#include "veritoken.h"
*/
import "C"

import (
	"encoding/json"
	"strconv"
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

// The registered-claim accessors read one member's JSON text (see member) instead of
// decoding the claims with reflection, which costs more than the verification itself. The
// engine has checked the types of every claim it enforces; anything it let through in
// another shape reads as absent here.

// str is a JSON string member's value ("" when absent or not a string).
func (t *Token) str(name string) string {
	raw := member(t.claimsJSON, name)
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	if !strings.ContainsRune(raw, '\\') {
		return raw[1 : len(raw)-1]
	}
	var s string
	_ = json.Unmarshal([]byte(raw), &s)
	return s
}

// date is a NumericDate member (the zero Time when absent or not a number).
func (t *Token) date(name string) time.Time {
	f, err := strconv.ParseFloat(member(t.claimsJSON, name), 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(int64(f), 0)
}

// Issuer is "iss".
func (t *Token) Issuer() string { return t.str("iss") }

// Subject is "sub" ("" when absent).
func (t *Token) Subject() string { return t.str("sub") }

// ID is "jti" ("" when absent).
func (t *Token) ID() string { return t.str("jti") }

// Audiences is "aud" as a list (a single string becomes one element).
func (t *Token) Audiences() []string {
	raw := []byte(member(t.claimsJSON, "aud"))
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
func (t *Token) ExpiresAt() time.Time { return t.date("exp") }

// NotBefore is "nbf" (the zero Time when absent).
func (t *Token) NotBefore() time.Time { return t.date("nbf") }

// IssuedAt is "iat" (the zero Time when absent).
func (t *Token) IssuedAt() time.Time { return t.date("iat") }

// member is the JSON text of the top-level member name of obj, an object the engine
// validated (well formed, no duplicate names), or "" when it is absent.
func member(obj, name string) string {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return ""
	}
	for i = skipSpace(obj, i+1); i < len(obj) && obj[i] == '"'; {
		keyEnd := skipString(obj, i)
		key := obj[i:keyEnd]
		i = skipSpace(obj, keyEnd)
		if i >= len(obj) || obj[i] != ':' {
			return ""
		}
		i = skipSpace(obj, i+1)
		end := skipValue(obj, i)
		if keyIs(key, name) {
			return obj[i:end]
		}
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ',' {
			return ""
		}
		i = skipSpace(obj, i+1)
	}
	return ""
}

// keyIs reports whether the quoted member name key is name (escapes decoded).
func keyIs(key, name string) bool {
	if !strings.ContainsRune(key, '\\') {
		return len(key) == len(name)+2 && key[1:len(key)-1] == name
	}
	var k string
	return json.Unmarshal([]byte(key), &k) == nil && k == name
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at s[i] (a quote).
func skipString(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// skipValue returns the index after the value starting at s[i].
func skipValue(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = skipString(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	}
	j := i
	for ; j < len(s); j++ {
		switch s[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j
		}
	}
	return j
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
