package veritoken

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
)

// accessorCase is one entry of tests/vectors/accessors.json: claims text, the value of
// every accessor and, when those claims verify, a token and the configuration accepting it.
type accessorCase struct {
	Name       string          `json:"name"`
	ClaimsJSON string          `json:"claims_json"`
	Config     json.RawMessage `json:"config"`
	Now        int64           `json:"now"`
	Token      *string         `json:"token"`
	Expect     struct {
		Issuer      string   `json:"issuer"`
		Subject     *string  `json:"subject"`
		JWTID       *string  `json:"jwt_id"`
		Audiences   []string `json:"audiences"`
		ExpiresAt   *int64   `json:"expires_at"`
		NotBefore   *int64   `json:"not_before"`
		IssuedAt    *int64   `json:"issued_at"`
		DPoPJKT     *string  `json:"dpop_jkt"`
		Scopes      []string `json:"scopes"`
		ScopesError *string  `json:"scopes_error"`
	} `json:"expect"`
}

func loadAccessorCases(t *testing.T) []accessorCase {
	text, err := os.ReadFile("../../tests/vectors/accessors.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Accessors []accessorCase `json:"accessors"`
	}
	if err := json.Unmarshal(text, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Accessors) == 0 {
		t.Fatal("tests/vectors/accessors.json has no accessor cases")
	}
	return doc.Accessors
}

// checkDate compares a NumericDate accessor with the case (the zero Time: absent).
func checkDate(t *testing.T, name, claim string, got interface {
	IsZero() bool
	Unix() int64
}, want *int64) {
	t.Helper()
	if want == nil && !got.IsZero() || want != nil && (got.IsZero() || got.Unix() != *want) {
		t.Errorf("%s: %s is %v, want %v", name, claim, got, want)
	}
}

// checkAccessors compares every accessor of tok with the case ("" stands for absent).
func checkAccessors(t *testing.T, name string, tok *Token, c accessorCase) {
	t.Helper()
	e := c.Expect
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	if tok.Issuer() != e.Issuer || tok.Subject() != str(e.Subject) || tok.ID() != str(e.JWTID) ||
		tok.DPoPJKT() != str(e.DPoPJKT) {
		t.Errorf("%s: iss %q sub %q jti %q jkt %q", name, tok.Issuer(), tok.Subject(), tok.ID(), tok.DPoPJKT())
	}
	if got := tok.Audiences(); !reflect.DeepEqual(got, e.Audiences) && !(len(got) == 0 && len(e.Audiences) == 0) {
		t.Errorf("%s: audiences %q, want %q", name, got, e.Audiences)
	}
	checkDate(t, name, "exp", tok.ExpiresAt(), e.ExpiresAt)
	checkDate(t, name, "nbf", tok.NotBefore(), e.NotBefore)
	checkDate(t, name, "iat", tok.IssuedAt(), e.IssuedAt)
	scopes, err := tok.GrantedScopes()
	var ve *Error
	switch {
	case e.ScopesError != nil:
		if !errors.As(err, &ve) || ve.Code.String() != *e.ScopesError {
			t.Errorf("%s: scopes %q, %v; want %s", name, scopes, err, *e.ScopesError)
		}
		// The engine's own error: the same message and claim as its scope check gives.
		var engine *Error
		if !errors.As(tok.RequireScopes("any"), &engine) || ve == nil || *ve != *engine || ve.Claim == "" {
			t.Errorf("%s: GrantedScopes %+v, the engine %+v", name, ve, engine)
		}
	case err != nil || !reflect.DeepEqual(scopes, e.Scopes):
		t.Errorf("%s: scopes %q, %v; want %q", name, scopes, err, e.Scopes)
	}
}

// TestSharedAccessors: every Token accessor gives the engine's value for each claims set
// of the shared vectors, for a token built on the claims text and, where the claims
// verify, for the verified token.
func TestSharedAccessors(t *testing.T) {
	signed := 0
	cases := loadAccessorCases(t)
	for _, c := range cases {
		checkAccessors(t, c.Name, &Token{claimsJSON: c.ClaimsJSON, headerJSON: "{}", record: recordOfClaims(c.ClaimsJSON)}, c)
		if c.Token == nil {
			continue
		}
		signed++
		v, err := NewFromJSON(c.Config)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		tok, err := v.VerifyAt(context.Background(), *c.Token, c.Now)
		if err != nil {
			t.Errorf("%s: rejected: %v", c.Name, err)
		} else {
			checkAccessors(t, c.Name+" (verified)", tok, c)
		}
		v.Close()
	}
	if signed == 0 {
		t.Fatal("no accessor case has a token")
	}
	t.Logf("%d accessor cases, %d verified", len(cases), signed)
}
