// Command gin protects a gin engine with veritoken through a small gin middleware over
// the engine's verifier: the token goes on the gin context under "veritoken".
//
//	go run ./gin -config veritoken.toml
package main

import (
	"errors"
	"flag"
	"log"
	"net/http"

	"github.com/gin-gonic/gin"
	veritoken "github.com/veritoken/veritoken/bindings-c/go"
)

// authorize adapts veritoken.Middleware to gin: it runs the middleware around a handler
// that resumes the gin chain with the verified token.
func authorize(v *veritoken.Verifier, opts ...veritoken.Option) gin.HandlerFunc {
	mw := veritoken.Middleware(v, opts...)
	return func(c *gin.Context) {
		passed := false
		mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			passed = true
			tok, _ := veritoken.FromContext(r.Context())
			c.Set("veritoken", tok)
			c.Request = r
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
			return
		}
		c.Next()
	}
}

// requireScopes checks the token authorize already verified: verifying it again would
// refuse a DPoP proof (single use) as a replay.
func requireScopes(v *veritoken.Verifier, scopes ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		tok, err := token(c)
		if err == nil {
			err = tok.RequireScopes(scopes...)
		}
		var refusal *veritoken.Error
		if !errors.As(err, &refusal) {
			if err != nil {
				c.AbortWithStatus(http.StatusInternalServerError)
			}
			return
		}
		v.WriteError(c.Writer, refusal, "orders")
		c.Abort()
	}
}

func token(c *gin.Context) (*veritoken.Token, error) {
	if t, ok := c.Get("veritoken"); ok {
		return t.(*veritoken.Token), nil
	}
	return nil, errors.New("no verified token on this request")
}

func newEngine(v *veritoken.Verifier) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	api := r.Group("/", authorize(v, veritoken.Realm("orders")))
	api.GET("/orders", func(c *gin.Context) {
		tok, err := token(c)
		if err != nil {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		c.String(http.StatusOK, "orders of %s\n", tok.Subject())
	})
	api.POST("/orders", requireScopes(v, "orders:write"), func(c *gin.Context) {
		c.Status(http.StatusCreated)
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
	log.Fatal(newEngine(v).Run(*listen))
}
