package veritoken

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// The Go constants and sentinels against the engine's one table (ErrorCode::ALL, read
// through the C library): same numbers, names and HTTP statuses, none missing.
func TestCodesMatchTheEngine(t *testing.T) {
	codes := []struct {
		code     Code
		sentinel *Error
		name     string
		status   int
	}{
		{CodeTokenMissing, ErrTokenMissing, "token_missing", 401},
		{CodeTokenMalformed, ErrTokenMalformed, "token_malformed", 401},
		{CodeTokenUnsupported, ErrTokenUnsupported, "token_unsupported", 401},
		{CodeAlgorithmNotAllowed, ErrAlgorithmNotAllowed, "algorithm_not_allowed", 401},
		{CodeKeyNotFound, ErrKeyNotFound, "key_not_found", 401},
		{CodeSignatureInvalid, ErrSignatureInvalid, "signature_invalid", 401},
		{CodeTokenExpired, ErrTokenExpired, "token_expired", 401},
		{CodeTokenNotYetValid, ErrTokenNotYetValid, "token_not_yet_valid", 401},
		{CodeTokenIssuedInFuture, ErrTokenIssuedInFuture, "token_issued_in_future", 401},
		{CodeTokenTooOld, ErrTokenTooOld, "token_too_old", 401},
		{CodeIssuerInvalid, ErrIssuerInvalid, "issuer_invalid", 401},
		{CodeAudienceInvalid, ErrAudienceInvalid, "audience_invalid", 401},
		{CodeClaimMissing, ErrClaimMissing, "claim_missing", 401},
		{CodeClaimInvalid, ErrClaimInvalid, "claim_invalid", 401},
		{CodeTypeInvalid, ErrTypeInvalid, "type_invalid", 401},
		{CodeScopeInsufficient, ErrScopeInsufficient, "scope_insufficient", 403},
		{CodeTokenInactive, ErrTokenInactive, "token_inactive", 401},
		{CodeDPoPInvalid, ErrDPoPInvalid, "dpop_invalid", 401},
		{CodeJWKSUnavailable, ErrJWKSUnavailable, "jwks_unavailable", 503},
		{CodeIntrospectionUnavailable, ErrIntrospectionUnavailable, "introspection_unavailable", 503},
		{CodeConfigInvalid, ErrConfigInvalid, "config_invalid", 500},
		{CodeInternal, ErrInternal, "internal", 500},
		{CodeReplayStoreUnavailable, ErrReplayStoreUnavailable, "replay_store_unavailable", 503},
	}
	for i, c := range codes {
		if int(c.code) != i+1 {
			t.Errorf("%s: number %d, the engine's is %d", c.name, c.code, i+1)
		}
		if got := c.code.String(); got != c.name {
			t.Errorf("code %d: the engine calls it %q, Go %q", c.code, got, c.name)
		}
		if got := c.code.HTTPStatus(); got != c.status {
			t.Errorf("%s: HTTP status %d, want %d", c.name, got, c.status)
		}
		if c.sentinel.Code != c.code || !errors.Is(&Error{Code: c.code}, c.sentinel) {
			t.Errorf("%s: sentinel holds code %d", c.name, c.sentinel.Code)
		}
	}
	// The engine has no code past the last one Go knows.
	if got := Code(len(codes) + 1).String(); got != "unknown" {
		t.Errorf("the engine has code %d (%q) that Go does not", len(codes)+1, got)
	}
	if got := Code(-1).String(); got != "unknown" {
		t.Errorf("Code(-1) is %q", got)
	}
}

// sharedCode is one entry of tests/vectors/error_codes.json; HTTPStatus nil for
// config_invalid, raised while building a verifier.
type sharedCode struct {
	Name       string `json:"name"`
	Number     int    `json:"number"`
	HTTPStatus *int   `json:"http_status"`
}

// sharedCodes is the engine's code table as the shared vectors hold it.
func sharedCodes(t *testing.T) []sharedCode {
	text, err := os.ReadFile("../../tests/vectors/error_codes.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ErrorCodes []sharedCode `json:"error_codes"`
	}
	if err := json.Unmarshal(text, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.ErrorCodes
}

// What Go reads through the C library against tests/vectors/error_codes.json, which the
// vector generator writes from ErrorCode::ALL (core's tests keep it current): the same
// numbers, names and HTTP statuses, and no code past the table's last.
func TestCodesAreTheSharedTable(t *testing.T) {
	codes := sharedCodes(t)
	if len(codes) < 23 {
		t.Fatalf("error_codes.json lists %d codes", len(codes))
	}
	for _, want := range codes {
		code := Code(want.Number)
		if got := code.String(); got != want.Name {
			t.Errorf("code %d: Go calls it %q, the engine %q", want.Number, got, want.Name)
		}
		// null: config_invalid, raised while building a verifier, never an HTTP answer.
		if want.HTTPStatus != nil && code.HTTPStatus() != *want.HTTPStatus {
			t.Errorf("%s: HTTP status %d, the engine's %d", want.Name, code.HTTPStatus(), *want.HTTPStatus)
		}
	}
	if got := Code(len(codes) + 1).String(); got != "unknown" {
		t.Errorf("Go knows code %d (%q) that the engine's table lacks", len(codes)+1, got)
	}
}
