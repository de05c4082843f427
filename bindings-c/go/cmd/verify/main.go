// Command verify is a small example of the Go package: verify CONFIG TOKEN prints the
// claims (exit 0) or the error code, HTTP status and message (exit 1); 2 for bad usage.
//
//	go run ./cmd/verify config.json eyJ...
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	veritoken "github.com/veritoken/veritoken/bindings-c/go"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s CONFIG.{json,toml,yaml} TOKEN\n", os.Args[0])
		os.Exit(2)
	}
	v, err := veritoken.NewFromFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer v.Close()
	tok, err := v.Verify(context.Background(), os.Args[2])
	var e *veritoken.Error
	switch {
	case err == nil:
		fmt.Println(tok.ClaimsJSON())
	case errors.As(err, &e):
		fmt.Printf("%s (HTTP %d): %s\n", e.Code, e.Code.HTTPStatus(), e.Message)
		v.Close()
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, err)
		v.Close()
		os.Exit(2)
	}
}
