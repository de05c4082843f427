package main

import (
	"testing"

	"github.com/veritoken/veritoken/bindings-c/go/examples/internal/exampletest"
)

func TestChiRouter(t *testing.T) {
	exampletest.Run(t, newRouter)
}
