// Command chi protects a chi router with veritoken: every route needs a valid token, and
// POST /orders also needs the "orders:write" scope.
//
//	go run ./chi -config veritoken.toml
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/go-chi/chi/v5"
	veritoken "github.com/veritoken/veritoken/bindings-c/go"
)

// newRouter gives each route one Middleware with that route's options: a request is
// verified once (a second Middleware around the first would verify it again, and refuse
// a DPoP proof, which is single use, as a replay).
func newRouter(v *veritoken.Verifier) http.Handler {
	r := chi.NewRouter()
	read := veritoken.Middleware(v, veritoken.Realm("orders"))
	write := veritoken.Middleware(v, veritoken.Realm("orders"), veritoken.RequireScopes("orders:write"))
	r.With(read).Get("/orders", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := veritoken.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s\n", tok.Subject())
	})
	r.With(write).Post("/orders", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	return r
}

func main() {
	config := flag.String("config", "veritoken.toml", "veritoken configuration file")
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	v, err := veritoken.NewFromFile(*config)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	log.Fatal(http.ListenAndServe(*listen, newRouter(v)))
}
