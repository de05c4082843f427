package veritoken

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Claim   string `json:"claim"`
	} `json:"error"`
}

func call(t *testing.T, h http.Handler, authorization string) (*http.Response, errorBody, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/orders", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body errorBody
	if resp.StatusCode != 200 && len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("body %q: %v", raw, err)
		}
	}
	return resp, body, string(raw)
}

// whoami answers with the subject Middleware put on the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	tok, ok := FromContext(r.Context())
	if !ok {
		http.Error(w, "no token on the context", 500)
		return
	}
	io.WriteString(w, tok.Subject())
})

func TestMiddleware(t *testing.T) {
	v := newHS(t)
	h := Middleware(v, RequireScopes("read"), Realm("orders"))(whoami)

	resp, _, text := call(t, h, "Bearer "+mintHS256(t, goodClaims()))
	if resp.StatusCode != 200 || text != "alice" {
		t.Fatalf("accept: %d %q", resp.StatusCode, text)
	}

	resp, body, _ := call(t, h, "")
	if resp.StatusCode != 401 || body.Error.Code != "token_missing" ||
		resp.Header.Get("WWW-Authenticate") != `Bearer realm="orders"` {
		t.Fatalf("missing: %d %+v %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
	if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", resp.Header)
	}

	expired := goodClaims()
	expired["exp"] = time.Now().Unix() - 60
	resp, body, _ = call(t, h, "Bearer "+mintHS256(t, expired))
	challenge := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || body.Error.Code != "token_expired" || body.Error.Claim != "exp" ||
		!strings.HasPrefix(challenge, `Bearer realm="orders", error="invalid_token", error_description=`) {
		t.Fatalf("expired: %d %+v %q", resp.StatusCode, body, challenge)
	}

	resp, body, _ = call(t, h, "Basic dXNlcjpwYXNz")
	if resp.StatusCode != 401 || body.Error.Code != "token_missing" {
		t.Fatalf("other scheme: %d %+v", resp.StatusCode, body)
	}

	resp, body, _ = call(t, h, "Bearer not-a-jwt")
	if resp.StatusCode != 401 || body.Error.Code != "token_malformed" {
		t.Fatalf("malformed: %d %+v", resp.StatusCode, body)
	}

	admin := Middleware(v, RequireScopes("admin"))(whoami)
	resp, body, _ = call(t, admin, "Bearer "+mintHS256(t, goodClaims()))
	if resp.StatusCode != 403 || body.Error.Code != "scope_insufficient" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Fatalf("scope: %d %+v %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}

	anyOf := Middleware(v, RequireAnyScope("admin", "write"))(whoami)
	if resp, _, _ = call(t, anyOf, "Bearer "+mintHS256(t, goodClaims())); resp.StatusCode != 200 {
		t.Fatalf("any scope: %d", resp.StatusCode)
	}
}

func TestMiddlewareErrorHandler(t *testing.T) {
	v := newHS(t)
	var seen *Error
	h := Middleware(v, ErrorHandler(func(w http.ResponseWriter, r *http.Request, err *Error) {
		seen = err
		w.WriteHeader(418)
	}))(whoami)
	resp, _, _ := call(t, h, "Bearer a.b.c")
	if resp.StatusCode != 418 || seen == nil || seen.Code != CodeTokenMalformed {
		t.Fatalf("%d %+v", resp.StatusCode, seen)
	}
}

func TestMiddlewareRolesRulesOptional(t *testing.T) {
	v := newHS(t)
	roles := goodClaims()
	roles["scope"] = []any{map[string]any{"rn": "orders", "role": "admin", "tn": "t-1"}, "read"}
	roles["tenant"] = "t-1"
	withRoles := "Bearer " + mintHS256(t, roles)
	plain := "Bearer " + mintHS256(t, goodClaims())

	h := Middleware(v, RequireRoles("orders:admin@t-1"))(whoami)
	if resp, _, text := call(t, h, withRoles); resp.StatusCode != 200 || text != "alice" {
		t.Fatalf("role granted: %d %q", resp.StatusCode, text)
	}
	if resp, body, _ := call(t, h, plain); resp.StatusCode != 403 || body.Error.Code != "scope_insufficient" {
		t.Fatalf("role missing: %d %+v", resp.StatusCode, body)
	}

	need, err := NewRequirement(RequirementSpec{Rules: []Rule{{Claim: "tenant", Equals: "t-2"}}})
	if err != nil {
		t.Fatal(err)
	}
	h = Middleware(v, Require(need))(whoami)
	if resp, body, _ := call(t, h, withRoles); resp.StatusCode != 403 || body.Error.Claim != "tenant" {
		t.Fatalf("rule: %d %+v", resp.StatusCode, body)
	}

	anonymous := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := FromContext(r.Context()); ok {
			io.WriteString(w, tok.Subject())
			return
		}
		io.WriteString(w, "anonymous")
	})
	h = Middleware(v, Optional())(anonymous)
	if resp, _, text := call(t, h, ""); resp.StatusCode != 200 || text != "anonymous" {
		t.Fatalf("optional, no token: %d %q", resp.StatusCode, text)
	}
	if resp, _, text := call(t, h, plain); resp.StatusCode != 200 || text != "alice" {
		t.Fatalf("optional, token: %d %q", resp.StatusCode, text)
	}
	if resp, body, _ := call(t, h, "Bearer x.y.z"); resp.StatusCode != 401 || body.Error.Code != "token_malformed" {
		t.Fatalf("optional, bad token: %d %+v", resp.StatusCode, body)
	}

	if _, err := ParseRequirement(`{"roles": ["admin"]}`); err == nil || !strings.Contains(err.Error(), "roles[0]") {
		t.Fatalf("bad role: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("RequireRoles with a malformed role did not panic")
		}
	}()
	Middleware(v, RequireRoles("admin"))
}

// WriteError, package-level and the verifier's, answers every code of the engine's table
// with the engine's status and names it in the body (replay_store_unavailable, the newest,
// was answered as a 500 "internal"); config_invalid, never a request's answer, is a 500
// "internal".
func TestWriteErrorAnswersEveryCodeAsTheEngine(t *testing.T) {
	v := newHS(t)
	writers := map[string]func(http.ResponseWriter, *Error){
		"WriteError":          func(w http.ResponseWriter, e *Error) { WriteError(w, e, "api") },
		"Verifier.WriteError": func(w http.ResponseWriter, e *Error) { v.WriteError(w, e, "api") },
	}
	for _, want := range sharedCodes(t) {
		status, name := 500, "internal"
		if want.HTTPStatus != nil {
			status, name = *want.HTTPStatus, want.Name
		}
		for label, write := range writers {
			rec := httptest.NewRecorder()
			write(rec, &Error{Code: Code(want.Number), Message: "m"})
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%s %s: body %q: %v", label, want.Name, rec.Body.String(), err)
			}
			if rec.Code != status || body.Error.Code != name {
				t.Errorf("%s %s: answered %d %q, want %d %q", label, want.Name, rec.Code, body.Error.Code, status, name)
			}
		}
	}
}

// A long message with characters that JSON and the challenge escape (quotes, control
// characters) is answered in full by both WriteErrors: fixed 2 KB and 4 KB buffers gave a
// bare "Bearer" challenge and an empty message.
func TestWriteErrorCarriesLongMessages(t *testing.T) {
	v := newHS(t)
	msg := strings.Repeat("\"\x01é", 1500) // 6,000 bytes, 21,000 once escaped in JSON
	e := &Error{Code: CodeSignatureInvalid, Message: msg}
	for name, write := range map[string]func(http.ResponseWriter){
		"package":  func(w http.ResponseWriter) { WriteError(w, e, "orders") },
		"verifier": func(w http.ResponseWriter) { v.WriteError(w, e, "orders") },
	} {
		rec := httptest.NewRecorder()
		write(rec)
		var body errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: body %.80q: %v", name, rec.Body.String(), err)
		}
		if rec.Code != 401 || body.Error.Code != "signature_invalid" || body.Error.Message != msg {
			t.Fatalf("%s: %d %q, message of %d bytes", name, rec.Code, body.Error.Code, len(body.Error.Message))
		}
		challenge := rec.Header().Get("WWW-Authenticate")
		if !strings.HasPrefix(challenge, `Bearer realm="orders"`) || !strings.Contains(challenge, `error="invalid_token"`) {
			t.Fatalf("%s: challenge %.120q", name, challenge)
		}
	}
}

// A Requirement's Close frees it at once, may be repeated, and leaves later checks failing
// with ErrClosed (in a middleware too: an internal error, never a pass).
// A rule's numbers reach the engine as written: integer bounds past 2^53 stay exact.
func TestRuleIntegersStayExact(t *testing.T) {
	v := newHS(t)
	claims := goodClaims()
	claims["account"] = uint64(9007199254740993)
	tok, err := v.Verify(context.Background(), mintHS256(t, claims))
	if err != nil {
		t.Fatal(err)
	}
	const ok, refused, invalid = "ok", "scope_insufficient", "config_invalid"
	for i, c := range []struct {
		rule Rule
		want string
	}{
		{Rule{Claim: "account", Equals: uint64(9007199254740993)}, ok},
		{Rule{Claim: "account", Equals: uint64(9007199254740992)}, refused},
		{Rule{Claim: "account", AtMost: uint64(9007199254740992)}, refused},
		{Rule{Claim: "account", AtMost: json.Number("9007199254740993")}, ok},
		{Rule{Claim: "account", AtLeast: int64(9007199254740994)}, refused},
		{Rule{Claim: "account", AtLeast: 1.5}, ok},
		{Rule{Claim: "account", AtLeast: "1"}, invalid},
	} {
		got := ok
		need, err := NewRequirement(RequirementSpec{Rules: []Rule{c.rule}})
		if err == nil {
			err = tok.Check(need)
			need.Close()
		}
		var e *Error
		if errors.As(err, &e) {
			got = e.Code.String()
		} else if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Fatalf("case %d (%+v): %s, want %s", i, c.rule, got, c.want)
		}
	}
}

func TestRequirementClose(t *testing.T) {
	v := newHS(t)
	need, err := NewRequirement(RequirementSpec{Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := v.Verify(context.Background(), mintHS256(t, goodClaims()))
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Check(need); err != nil {
		t.Fatalf("open: %v", err)
	}
	h := Middleware(v, Require(need))(whoami)
	if resp, _, text := call(t, h, "Bearer "+mintHS256(t, goodClaims())); resp.StatusCode != 200 || text != "alice" {
		t.Fatalf("open, middleware: %d %q", resp.StatusCode, text)
	}
	if need.Close() != nil || need.Close() != nil {
		t.Fatal("Close failed")
	}
	if err := tok.Check(need); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "requirement") {
		t.Fatalf("closed: %v", err)
	}
	if resp, body, _ := call(t, h, "Bearer "+mintHS256(t, goodClaims())); resp.StatusCode != 500 || body.Error.Code != "internal" {
		t.Fatalf("closed, middleware: %d %+v", resp.StatusCode, body)
	}
}

// Bytes that are not UTF-8 (a raw Latin-1 query, a stray cookie) go to the engine as
// U+FFFD, as the other bindings and the sidecar read them: the request keeps its token's
// verdict (it was token_malformed, "query is not UTF-8", for the whole request).
func TestNonUTF8BytesKeepTheRequestsVerdict(t *testing.T) {
	config := hsConfig()
	config.TokenSources = []TokenSource{
		{Header: &HeaderSource{Name: "Authorization", Scheme: "Bearer"}},
		{Cookie: &NamedSource{Name: "access_token"}},
		{Query: &NamedSource{Name: "access_token"}},
	}
	v, err := New(config)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	good := mintHS256(t, goodClaims())
	serve := func(h http.Handler, target string, header map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", target, nil)
		for k, val := range header {
			r.Header.Set(k, val)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	const latin1 = "http://api.test/x?q=caf\xe9"
	bearer := map[string]string{"Authorization": "Bearer " + good, "Cookie": "prefs=caf\xe9"}
	if w := serve(Middleware(v)(whoami), latin1, bearer); w.Code != 200 || w.Body.String() != "alice" {
		t.Fatalf("token beside a Latin-1 query and cookie: %d %s", w.Code, w.Body)
	}
	if w := serve(Middleware(v)(whoami), latin1+"&access_token="+good, nil); w.Code != 200 || w.Body.String() != "alice" {
		t.Fatalf("query token beside a Latin-1 parameter: %d %s", w.Code, w.Body)
	}
	anonymous := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := FromContext(r.Context()); !ok {
			io.WriteString(w, "anonymous")
		}
	})
	if w := serve(Middleware(v, Optional())(anonymous), latin1, nil); w.Code != 200 || w.Body.String() != "anonymous" {
		t.Fatalf("optional, no token, Latin-1 query: %d %s", w.Code, w.Body)
	}
	bad := map[string]string{"Authorization": "Bearer caf\xe9"}
	if w := serve(Middleware(v)(whoami), "http://api.test/x", bad); w.Code != 401 || !strings.Contains(w.Body.String(), "token_malformed") {
		t.Fatalf("a token that is not UTF-8: %d %s", w.Code, w.Body)
	}
}
