package veritoken

/*
#include <stdlib.h>
#include "veritoken.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// Rule is one claim rule: Claim is a top-level claim name or an RFC 6901 JSON Pointer
// ("/realm_access/roles"); every operator set must hold. Values are strings, numbers or
// booleans; bounds (AtLeast, AtMost) are numbers, nil for none. Give a 64-bit ID as an
// integer type (int64, uint64) or json.Number: the engine compares integers exactly, and
// a float64 holds integers only up to 2^53.
type Rule struct {
	Claim       string `json:"claim"`
	Equals      any    `json:"equals,omitempty"`
	OneOf       []any  `json:"one_of,omitempty"`
	Contains    any    `json:"contains,omitempty"`
	ContainsAny []any  `json:"contains_any,omitempty"`
	ContainsAll []any  `json:"contains_all,omitempty"`
	Exists      *bool  `json:"exists,omitempty"`
	AtLeast     any    `json:"at_least,omitempty"`
	AtMost      any    `json:"at_most,omitempty"`
}

// RequirementSpec is what a route requires of a verified token, in the shared schema:
// scopes, role policies ("rn:role" or "rn:role@tenant", read from the scope claim or
// RoleClaim) and claim rules, checked in that order. Match fields are "all" (default) or
// "any".
type RequirementSpec struct {
	Scopes     []string `json:"scopes,omitempty"`
	ScopeMatch string   `json:"scope_match,omitempty"`
	Roles      []string `json:"roles,omitempty"`
	RoleMatch  string   `json:"role_match,omitempty"`
	RoleClaim  string   `json:"role_claim,omitempty"`
	Rules      []Rule   `json:"rules,omitempty"`
}

// Requirement is a compiled route requirement, built once per route and safe for
// concurrent use. A token that does not meet it is ErrScopeInsufficient (a failing claim
// rule names its claim in Error.Claim). Close frees it at once; otherwise a finalizer does.
type Requirement struct {
	mu  sync.RWMutex
	ptr *C.vt_requirement
}

// NewRequirement compiles spec; a bad role string, unknown operator, value of the wrong
// type or bad pointer is a CodeConfigInvalid error naming the field.
func NewRequirement(spec RequirementSpec) (*Requirement, error) {
	text, err := json.Marshal(spec)
	if err != nil {
		return nil, &Error{Code: CodeConfigInvalid, Message: err.Error()}
	}
	return ParseRequirement(string(text))
}

// ParseRequirement compiles a requirement given as JSON text (the shared schema:
// scopes, scope_match, roles, role_match, role_claim, rules).
func ParseRequirement(jsonText string) (*Requirement, error) {
	if strings.IndexByte(jsonText, 0) >= 0 {
		return nil, &Error{Code: CodeConfigInvalid, Message: "the requirement contains a NUL byte"}
	}
	text := C.CString(jsonText)
	defer C.free(unsafe.Pointer(text))
	var msg [errBufSize]C.char
	var ptr *C.vt_requirement
	if r := C.vt_requirement_new(text, &ptr, &msg[0], errBufSize); r != C.VT_OK {
		return nil, callError(r, msg[:], nil, CodeConfigInvalid)
	}
	req := &Requirement{ptr: ptr}
	runtime.SetFinalizer(req, (*Requirement).Close)
	return req, nil
}

// Close frees the compiled requirement; safe to call more than once and concurrently with
// checks. A check with a closed requirement fails with an error matching ErrClosed.
func (req *Requirement) Close() error {
	req.mu.Lock()
	defer req.mu.Unlock()
	if req.ptr != nil {
		C.vt_requirement_free(req.ptr)
		req.ptr = nil
		runtime.SetFinalizer(req, nil)
	}
	return nil
}

// check runs one C check with the compiled requirement, which stays alive (and open)
// until it returns.
func (req *Requirement) check(call func(*C.vt_requirement, *errBufs) C.vt_result) error {
	req.mu.RLock()
	defer req.mu.RUnlock()
	if req.ptr == nil {
		return errRequirementClosed
	}
	var bufs errBufs
	r := call(req.ptr, &bufs)
	runtime.KeepAlive(req)
	if r != C.VT_OK {
		return callError(r, bufs.msg[:], bufs.claim[:], CodeInternal)
	}
	return nil
}

// mustRequirement is NewRequirement for middleware options, which cannot return an error:
// a bad requirement is a programming error found when the middleware is built.
func mustRequirement(spec RequirementSpec) *Requirement {
	req, err := NewRequirement(spec)
	if err != nil {
		panic("veritoken: " + err.Error())
	}
	return req
}

// Check returns nil when the token meets req; otherwise an *Error (ErrScopeInsufficient,
// or ErrClaimInvalid for a scope or role claim of the wrong shape), or, when req was
// closed, an error matching ErrClosed.
func (t *Token) Check(req *Requirement) error {
	if req == nil {
		return nil
	}
	claims, ok := cText(t.claimsJSON)
	if !ok {
		return &Error{Code: CodeInternal, Message: "claims contain a NUL byte"}
	}
	return req.check(func(p *C.vt_requirement, b *errBufs) C.vt_result {
		return C.vt_claims_check(cPtr(claims), p, &b.msg[0], errBufSize, &b.claim[0], C.size_t(len(b.claim)))
	})
}
