package veritoken

/*
#include "veritoken.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// Code is a veritoken error code: the same number and name in every language (docs/design.md §5).
type Code int

// The error codes. The numbers are fixed and equal to libveritoken's vt_result values.
const (
	CodeTokenMissing             Code = 1
	CodeTokenMalformed           Code = 2
	CodeTokenUnsupported         Code = 3
	CodeAlgorithmNotAllowed      Code = 4
	CodeKeyNotFound              Code = 5
	CodeSignatureInvalid         Code = 6
	CodeTokenExpired             Code = 7
	CodeTokenNotYetValid         Code = 8
	CodeTokenIssuedInFuture      Code = 9
	CodeTokenTooOld              Code = 10
	CodeIssuerInvalid            Code = 11
	CodeAudienceInvalid          Code = 12
	CodeClaimMissing             Code = 13
	CodeClaimInvalid             Code = 14
	CodeTypeInvalid              Code = 15
	CodeScopeInsufficient        Code = 16
	CodeTokenInactive            Code = 17
	CodeDPoPInvalid              Code = 18
	CodeJWKSUnavailable          Code = 19
	CodeIntrospectionUnavailable Code = 20
	CodeConfigInvalid            Code = 21
	CodeInternal                 Code = 22
	CodeReplayStoreUnavailable   Code = 23
)

// String is the stable snake_case name, e.g. "token_expired" (from the C library, so every
// language agrees).
func (c Code) String() string {
	return C.GoString(C.vt_result_name(C.int32_t(c)))
}

// HTTPStatus is the status a middleware answers with: 401, 403, 503, or 500 for codes that
// never reach a request (config_invalid, internal).
func (c Code) HTTPStatus() int {
	if s := int(C.vt_result_http_status(C.int32_t(c))); s != 0 {
		return s
	}
	return 500
}

// Error is a rejection or a failure: a stable Code, a human message (never a secret or a
// token), and the claim concerned where there is one ("exp", "aud", ...).
type Error struct {
	Code    Code
	Message string
	Claim   string
	// cause is the Go error an internal Error stands for (a request's context error).
	cause error
}

// Unwrap returns the Go error behind an internal Error made by this package (the
// request's context.Canceled or context.DeadlineExceeded in an ErrorHandler); nil for
// the engine's errors.
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) Error() string {
	if e.Message == "" {
		return "veritoken: " + e.Code.String()
	}
	return fmt.Sprintf("veritoken: %s: %s", e.Code, e.Message)
}

// Is makes errors.Is(err, ErrTokenExpired) true for any *Error with that code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// Sentinels for errors.Is, one per code.
var (
	ErrTokenMissing             = &Error{Code: CodeTokenMissing}
	ErrTokenMalformed           = &Error{Code: CodeTokenMalformed}
	ErrTokenUnsupported         = &Error{Code: CodeTokenUnsupported}
	ErrAlgorithmNotAllowed      = &Error{Code: CodeAlgorithmNotAllowed}
	ErrKeyNotFound              = &Error{Code: CodeKeyNotFound}
	ErrSignatureInvalid         = &Error{Code: CodeSignatureInvalid}
	ErrTokenExpired             = &Error{Code: CodeTokenExpired}
	ErrTokenNotYetValid         = &Error{Code: CodeTokenNotYetValid}
	ErrTokenIssuedInFuture      = &Error{Code: CodeTokenIssuedInFuture}
	ErrTokenTooOld              = &Error{Code: CodeTokenTooOld}
	ErrIssuerInvalid            = &Error{Code: CodeIssuerInvalid}
	ErrAudienceInvalid          = &Error{Code: CodeAudienceInvalid}
	ErrClaimMissing             = &Error{Code: CodeClaimMissing}
	ErrClaimInvalid             = &Error{Code: CodeClaimInvalid}
	ErrTypeInvalid              = &Error{Code: CodeTypeInvalid}
	ErrScopeInsufficient        = &Error{Code: CodeScopeInsufficient}
	ErrTokenInactive            = &Error{Code: CodeTokenInactive}
	ErrDPoPInvalid              = &Error{Code: CodeDPoPInvalid}
	ErrJWKSUnavailable          = &Error{Code: CodeJWKSUnavailable}
	ErrIntrospectionUnavailable = &Error{Code: CodeIntrospectionUnavailable}
	ErrConfigInvalid            = &Error{Code: CodeConfigInvalid}
	ErrInternal                 = &Error{Code: CodeInternal}
	ErrReplayStoreUnavailable   = &Error{Code: CodeReplayStoreUnavailable}
)

// ErrClosed is returned by a Verifier used after Close; a Requirement's error after Close
// matches it (errors.Is).
var ErrClosed = errors.New("veritoken: verifier is closed")

// errRequirementClosed is a Requirement used after Close: errors.Is(err, ErrClosed).
var errRequirementClosed error = closedError("veritoken: requirement is closed")

type closedError string

func (e closedError) Error() string        { return string(e) }
func (e closedError) Is(target error) bool { return target == ErrClosed }

// errBufSize holds any engine message (they are short; longer ones are truncated).
const errBufSize = 512

// callError turns a failed C call into a Go error. onMisuse names the code an API misuse
// result (a bad argument: NUL byte or invalid UTF-8) stands for at this call site.
func callError(r C.vt_result, msg, claim []C.char, onMisuse Code) error {
	code := Code(r)
	if r == C.VT_INVALID_ARGUMENT || r == C.VT_BUFFER_TOO_SMALL {
		code = onMisuse
	}
	e := &Error{Code: code, Message: C.GoString(&msg[0])}
	if claim != nil {
		e.Claim = C.GoString(&claim[0])
	}
	return e
}
