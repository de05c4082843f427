package main

import (
	"net/http"
	"testing"

	veritoken "github.com/veritoken/veritoken/bindings-c/go"
	"github.com/veritoken/veritoken/bindings-c/go/examples/internal/exampletest"
)

func TestGinEngine(t *testing.T) {
	exampletest.Run(t, func(v *veritoken.Verifier) http.Handler { return newEngine(v) })
}
