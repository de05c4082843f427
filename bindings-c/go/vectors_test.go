package veritoken

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// vectorCase is one shared conformance case (tests/vectors/README.md).
type vectorCase struct {
	Name    string          `json:"name"`
	Config  json.RawMessage `json:"config"`
	Now     int64           `json:"now"`
	Token   *string         `json:"token"`
	Request *struct {
		Headers [][2]string `json:"headers"`
		Query   string      `json:"query"`
		Method  string      `json:"method"`
		URL     string      `json:"url"`
	} `json:"request"`
	RequireScopes *struct {
		Scopes []string `json:"scopes"`
		Match  string   `json:"match"`
	} `json:"require_scopes"`
	Require  json.RawMessage `json:"require"`
	Optional bool            `json:"optional"`
	Expect   struct {
		Anonymous bool            `json:"anonymous"`
		Valid     bool            `json:"valid"`
		Claims    json.RawMessage `json:"claims"`
		Error     string          `json:"error"`
		Claim     string          `json:"claim"`
	} `json:"expect"`
}

func loadVectors(t testing.TB) []vectorCase {
	files, err := filepath.Glob("../../tests/vectors/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no vector files found: %v", err)
	}
	var all []vectorCase
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Cases []vectorCase `json:"cases"`
		}
		if err := json.Unmarshal(text, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		all = append(all, doc.Cases...)
	}
	return all
}

// runCase gives the case's verdict: the claims on success or the error.
func runCase(c vectorCase) (*Token, error) {
	v, err := NewFromJSON(c.Config)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	var need *Requirement
	if c.Require != nil {
		if need, err = ParseRequirement(string(c.Require)); err != nil {
			return nil, err
		}
	}
	var tok *Token
	if c.Token != nil {
		tok, err = v.VerifyAt(context.Background(), *c.Token, c.Now)
	} else {
		// The request as net/http would hand it to Middleware (header names canonicalized).
		r := &http.Request{Method: c.Request.Method, Header: http.Header{}, URL: &url.URL{RawQuery: c.Request.Query}}
		for _, h := range c.Request.Headers {
			r.Header.Add(h[0], h[1])
		}
		tok, err = v.verifyRequest(context.Background(), r, c.Request.URL, c.Now, route{optional: c.Optional})
		if err == nil && tok == nil {
			return nil, nil // anonymous
		}
	}
	if err == nil && need != nil {
		err = tok.Check(need)
	}
	if err != nil || c.RequireScopes == nil {
		return tok, err
	}
	if c.RequireScopes.Match == "any" {
		err = tok.RequireAnyScope(c.RequireScopes.Scopes...)
	} else {
		err = tok.RequireScopes(c.RequireScopes.Scopes...)
	}
	return tok, err
}

func decodeJSON(t *testing.T, text []byte) any {
	var out any
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		t.Fatalf("bad JSON %q: %v", text, err)
	}
	return out
}

func TestSharedVectors(t *testing.T) {
	cases := loadVectors(t)
	if len(cases) < 150 {
		t.Fatalf("only %d vector cases", len(cases))
	}
	for _, c := range cases {
		tok, err := runCase(c)
		switch {
		case c.Expect.Valid && err != nil:
			t.Errorf("%s: rejected: %v", c.Name, err)
		case c.Expect.Anonymous:
			if tok != nil {
				t.Errorf("%s: not anonymous: %s", c.Name, tok.ClaimsJSON())
			}
		case c.Expect.Valid && tok == nil:
			t.Errorf("%s: anonymous, want claims", c.Name)
		case c.Expect.Valid:
			got, want := decodeJSON(t, []byte(tok.ClaimsJSON())), decodeJSON(t, c.Expect.Claims)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: claims %s, want %s", c.Name, tok.ClaimsJSON(), c.Expect.Claims)
			}
		case err == nil:
			t.Errorf("%s: accepted, want %s", c.Name, c.Expect.Error)
		default:
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("%s: not an *Error: %v", c.Name, err)
			} else if e.Code.String() != c.Expect.Error {
				t.Errorf("%s: got %s (%s), want %s", c.Name, e.Code, e.Message, c.Expect.Error)
			} else if c.Expect.Claim != "" && e.Claim != c.Expect.Claim {
				t.Errorf("%s: claim %q, want %q", c.Name, e.Claim, c.Expect.Claim)
			} else if e.Message == "" {
				t.Errorf("%s: empty message", c.Name)
			}
		}
	}
	t.Logf("%d shared vector cases", len(cases))
}
