// The shared vectors through the Go module as installed from the module proxy:
// go run . VECTORS_DIR. Token cases only: the request cases need a fixed clock that only
// the package's own tests have (make test-go runs them all).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"

	veritoken "github.com/veritoken/veritoken/bindings-c/go"
)

type vectorCase struct {
	Name          string          `json:"name"`
	Config        json.RawMessage `json:"config"`
	Now           int64           `json:"now"`
	Token         *string         `json:"token"`
	RequireScopes *struct {
		Scopes []string `json:"scopes"`
		Match  string   `json:"match"`
	} `json:"require_scopes"`
	Require json.RawMessage `json:"require"`
	Expect  struct {
		Valid  bool            `json:"valid"`
		Claims json.RawMessage `json:"claims"`
		Error  string          `json:"error"`
	} `json:"expect"`
}

func decode(text []byte) any {
	var out any
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	_ = d.Decode(&out)
	return out
}

func run(c vectorCase) (*veritoken.Token, error) {
	v, err := veritoken.NewFromJSON(c.Config)
	if err != nil {
		return nil, err
	}
	defer v.Close()
	// A route requirement is built with the verifier: a bad one is config_invalid.
	var need *veritoken.Requirement
	if c.Require != nil {
		if need, err = veritoken.ParseRequirement(string(c.Require)); err != nil {
			return nil, err
		}
	}
	tok, err := v.VerifyAt(context.Background(), *c.Token, c.Now)
	if err != nil {
		return tok, err
	}
	if c.RequireScopes != nil {
		if c.RequireScopes.Match == "any" {
			err = tok.RequireAnyScope(c.RequireScopes.Scopes...)
		} else {
			err = tok.RequireScopes(c.RequireScopes.Scopes...)
		}
		if err != nil {
			return tok, err
		}
	}
	if need != nil {
		err = tok.Check(need)
	}
	return tok, err
}

func main() {
	files, _ := filepath.Glob(filepath.Join(os.Args[1], "*.json"))
	total, agree, skipped := 0, 0, 0
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		var doc struct {
			Cases []vectorCase `json:"cases"`
		}
		if err := json.Unmarshal(text, &doc); err != nil {
			panic(err)
		}
		for _, c := range doc.Cases {
			total++
			if c.Token == nil {
				skipped++
				continue
			}
			tok, err := run(c)
			var e *veritoken.Error
			switch {
			case c.Expect.Valid && err == nil && reflect.DeepEqual(decode([]byte(tok.ClaimsJSON())), decode(c.Expect.Claims)):
				agree++
			case !c.Expect.Valid && errors.As(err, &e) && e.Code.String() == c.Expect.Error:
				agree++
			default:
				fmt.Printf("%s: %v\n", c.Name, err)
			}
		}
	}
	fmt.Printf("go: veritoken %s: %d/%d token vectors agree (%d request vectors left to make test-go)\n",
		veritoken.Version(), agree, total-skipped, skipped)
	if agree != total-skipped || agree < 150 {
		os.Exit(1)
	}
}
