// Command chi protects a chi router with veritoken: every route needs a valid token, and
// POST /orders also needs the "orders:write" scope.
//
//	go run ./chi -config ../../../examples/config.toml
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/go-chi/chi/v5"
	veritoken "github.com/veritoken/veritoken/bindings-c/go"
)

func newRouter(v *veritoken.Verifier) http.Handler {
	r := chi.NewRouter()
	r.Use(veritoken.Middleware(v, veritoken.Realm("orders")))
	r.Get("/orders", func(w http.ResponseWriter, r *http.Request) {
		tok, _ := veritoken.FromContext(r.Context())
		fmt.Fprintf(w, "orders of %s\n", tok.Subject())
	})
	r.With(veritoken.Middleware(v, veritoken.RequireScopes("orders:write"))).
		Post("/orders", func(w http.ResponseWriter, r *http.Request) {
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
