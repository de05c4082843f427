/*
 * Runs every shared conformance case (the JSON files in tests/vectors) through libveritoken's C API
 * and checks the verdict, the error code and the claims, then checks API misuse paths.
 * Built with AddressSanitizer + UBSan by `make test`. Usage: vectors FILE.json...
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "veritoken.h"

static int passed, failed;
/* Accessor cases checked, and how many of them through a verified token's handle. */
static int accessor_cases, accessor_tokens;

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
  if (buf) buf[n] = 0;
  fclose(f);
  return buf;
}

static void fail(const char *name, const char *why, const char *detail) {
  failed++;
  fprintf(stderr, "FAIL %s: %s %s\n", name, why, detail ? detail : "");
}

/* The accessor record vt_verify_into appends (in the 4 * len + 64 bytes the header
   promises) must be the one vt_claims_accessor_record makes of the claims it returned. */
static void check_record(const char *name, vt_verifier *v, const char *token, int64_t now,
                         const char *claims) {
  size_t len = strlen(token), cl = 0, hl = 0, al = 0, want_len = 0;
  size_t cap = 4 * len + 64, want_cap = 3 * strlen(claims) + 64;
  char *out = malloc(cap), *want = malloc(want_cap), err[256] = "";
  if (vt_verify_into(v, token, len, now, 1, out, cap, &cl, &hl, &al, NULL, err, sizeof err, NULL, 0) != VT_OK) {
    fail(name, "no room for the accessor record:", err);
  } else if (vt_claims_accessor_record(claims, strlen(claims), want, want_cap, &want_len, err, sizeof err) != VT_OK) {
    fail(name, "vt_claims_accessor_record:", err);
  } else if (al < 52 || al != want_len || memcmp(out + cl + hl, want, al) != 0) {
    fail(name, "the verified accessor record differs from the claims' one", NULL);
  }
  free(out);
  free(want);
}

/* One case: the verdict as a vt_result, and the claims JSON on success (caller frees). */
/* vt_verify_into twice: into a buffer too small (which must be refused without writing
   anything), then into one as long as the token (which always fits a signed token). The
   claims come back in a NUL-terminated copy; the header must be a JSON object. */
static vt_result verify_into(vt_verifier *v, const char *token, int64_t now, char **claims,
                             char *err, size_t err_len, char *claim, size_t claim_len) {
  char tiny[1] = {'k'};
  size_t claims_len = 7, header_len = 7, len = strlen(token);
  vt_result r = vt_verify_into(v, token, len, now, 0, tiny, 0, &claims_len, &header_len, NULL,
                               NULL, err, err_len, claim, claim_len);
  if (claims_len != 7 || header_len != 7 || tiny[0] != 'k') fail(token, "outputs written on failure", NULL);
  if (r != VT_BUFFER_TOO_SMALL) return r == VT_OK ? VT_INTERNAL : r;
  /* With somewhere to hand it over, the token that did not fit comes back as a handle. */
  vt_token *overflow = NULL;
  r = vt_verify_into(v, token, len, now, 1, tiny, 0, &claims_len, &header_len, NULL, &overflow,
                     err, err_len, claim, claim_len);
  if (r != VT_OK || overflow == NULL || claims_len != 7 || header_len != 7 || tiny[0] != 'k')
    fail(token, "a token that did not fit was not handed over alone", NULL);
  char *out = malloc(len + 1);
  vt_token *none = (vt_token *)out;
  r = vt_verify_into(v, token, len, now, 1, out, len, &claims_len, &header_len, NULL, &none,
                     err, err_len, claim, claim_len);
  if (r == VT_OK) {
    if (none != NULL) fail(token, "overflow not NULL when the token fit", NULL);
    *claims = strndup(out, claims_len);
    if (overflow == NULL || strcmp(vt_token_claims_json(overflow), *claims) != 0)
      fail(token, "the handed-over token's claims differ", NULL);
    if (header_len < 2 || out[claims_len] != '{' || out[claims_len + header_len - 1] != '}') fail(token, "header is not an object", NULL);
    check_record(token, v, token, now, *claims);
  }
  vt_token_free(overflow);
  free(out);
  return r;
}

/* The scopes a case requires, as the C API takes them (free the array), and whether any one
   of them is enough. */
static const char **required_scopes(const cJSON *req_scopes, size_t *n, int *any) {
  const cJSON *list = cJSON_GetObjectItem(req_scopes, "scopes");
  *n = (size_t)cJSON_GetArraySize(list);
  const char **scopes = calloc(*n + 1, sizeof *scopes);
  for (size_t i = 0; i < *n; i++) scopes[i] = cJSON_GetArrayItem(list, (int)i)->valuestring;
  const cJSON *m = cJSON_GetObjectItem(req_scopes, "match");
  *any = cJSON_IsString(m) && strcmp(m->valuestring, "any") == 0;
  return scopes;
}

static vt_result claims_scopes(const char *claims, const cJSON *req_scopes, char *err, size_t err_len,
                               char *claim, size_t claim_len) {
  size_t n;
  int any;
  const char **scopes = required_scopes(req_scopes, &n, &any);
  vt_result r = vt_claims_require_scopes(claims, scopes, n, any, err, err_len, claim, claim_len);
  free(scopes);
  return r;
}

static vt_result run_case(const cJSON *c, char **claims, char *err, size_t err_len, char *claim, size_t claim_len) {
  *claims = NULL;
  char *config = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "config"));
  vt_verifier *v = NULL;
  vt_result r = vt_verifier_new(config, &v, err, err_len);
  free(config);
  if (r != VT_OK) return r;
  /* The route requirement is built with the verifier: a bad one is config_invalid. */
  vt_requirement *need = NULL;
  const cJSON *require = cJSON_GetObjectItem(c, "require");
  if (require) {
    char *text = cJSON_PrintUnformatted(require);
    r = vt_requirement_new(text, &need, err, err_len);
    free(text);
    if (r != VT_OK) { vt_verifier_free(v); return r; }
  }
  vt_token *tok = NULL;
  int64_t now = (int64_t)cJSON_GetObjectItem(c, "now")->valuedouble;
  /* Cases take turns through the waiting, the non-waiting and the handle-free entry points:
     same verdicts with static keys. */
  static int alternate;
  int turn = alternate++ % 3, may_wait = turn == 1;
  const cJSON *t = cJSON_GetObjectItem(c, "token");
  if (cJSON_IsString(t) && turn == 2) {
    r = verify_into(v, t->valuestring, now, claims, err, err_len, claim, claim_len);
    const cJSON *req_scopes = cJSON_GetObjectItem(c, "require_scopes");
    if (r == VT_OK && req_scopes) r = claims_scopes(*claims, req_scopes, err, err_len, claim, claim_len);
    if (r == VT_OK && need) r = vt_claims_check(*claims, need, err, err_len, claim, claim_len);
    if (r != VT_OK) { free(*claims); *claims = NULL; }
    vt_requirement_free(need);
    vt_verifier_free(v);
    return r;
  }
  if (cJSON_IsString(t)) {
    if (may_wait) r = vt_verify_at(v, t->valuestring, now, &tok, err, err_len, claim, claim_len);
    else r = vt_try_verify_at(v, t->valuestring, now, &tok, err, err_len, claim, claim_len);
  } else {
    const cJSON *req = cJSON_GetObjectItem(c, "request");
    const cJSON *headers = cJSON_GetObjectItem(req, "headers");
    int n = cJSON_GetArraySize(headers);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    const char **values = calloc((size_t)n + 1, sizeof *values);
    for (int i = 0; i < n; i++) {
      const cJSON *h = cJSON_GetArrayItem(headers, i);
      names[i] = cJSON_GetArrayItem(h, 0)->valuestring;
      values[i] = cJSON_GetArrayItem(h, 1)->valuestring;
    }
    const cJSON *q = cJSON_GetObjectItem(req, "query");
    const cJSON *m = cJSON_GetObjectItem(req, "method");
    const cJSON *u = cJSON_GetObjectItem(req, "url");
    vt_request request = {names, values, (size_t)n, cJSON_IsString(q) ? q->valuestring : NULL,
                          cJSON_IsString(m) ? m->valuestring : NULL, cJSON_IsString(u) ? u->valuestring : NULL};
    if (cJSON_IsTrue(cJSON_GetObjectItem(c, "optional"))) {
      r = vt_verify_request_optional_at(v, &request, now, may_wait, &tok, err, err_len, claim, claim_len);
    } else {
      r = vt_verify_request_at(v, &request, now, may_wait, &tok, err, err_len, claim, claim_len);
    }
    free(names);
    free(values);
    if (r == VT_OK && tok == NULL) { /* anonymous: VT_OK, no claims */
      vt_requirement_free(need);
      vt_verifier_free(v);
      return r;
    }
  }
  const cJSON *req_scopes = cJSON_GetObjectItem(c, "require_scopes");
  if (r == VT_OK && req_scopes) {
    size_t n;
    int any;
    const char **scopes = required_scopes(req_scopes, &n, &any);
    r = vt_token_require_scopes(tok, scopes, n, any, err, err_len, claim, claim_len);
    free(scopes);
  }
  if (r == VT_OK && need) r = vt_token_check(tok, need, err, err_len, claim, claim_len);
  if (r == VT_OK) *claims = strdup(vt_token_claims_json(tok));
  vt_token_free(tok);
  vt_requirement_free(need);
  vt_verifier_free(v);
  return r;
}

#define CHECK(cond) do { if (cond) passed++; else fail(#cond, "does not hold", NULL); } while (0)

/* The verified-token cache through the C API, on a valid vector: a repeated token is a hit
   with the same claims, its expiry is judged again at the hit (exp is in the vector's
   future; a year later it is expired), and the metrics count both. */
static void token_cache(const cJSON *c) {
  cJSON *config = cJSON_Duplicate(cJSON_GetObjectItem(c, "config"), 1);
  cJSON *cache = cJSON_AddObjectToObject(config, "cache");
  cJSON_AddNumberToObject(cache, "max_entries", 16);
  char *text = cJSON_PrintUnformatted(config), err[256] = "";
  vt_verifier *v = NULL;
  CHECK(vt_verifier_new(text, &v, err, sizeof err) == VT_OK);
  const char *token = cJSON_GetObjectItem(c, "token")->valuestring;
  int64_t now = (int64_t)cJSON_GetObjectItem(c, "now")->valuedouble;
  char claim[16] = "", *a = NULL, *b = NULL;
  CHECK(verify_into(v, token, now, &a, err, sizeof err, claim, sizeof claim) == VT_OK);
  CHECK(verify_into(v, token, now, &b, err, sizeof err, claim, sizeof claim) == VT_OK && a && b && strcmp(a, b) == 0);
  CHECK(verify_into(v, token, now + 366 * 86400, &b, err, sizeof err, claim, sizeof claim) == VT_TOKEN_EXPIRED);
  char metrics[2048];
  CHECK(vt_verifier_metrics_json(v, metrics, sizeof metrics, err, sizeof err) == VT_OK &&
        strstr(metrics, "\"token_cache_hits\":") != NULL && strstr(metrics, "\"token_cache_hits\":0,") == NULL);
  free(a);
  free(b);
  vt_verifier_free(v);
  cJSON_free(text);
  cJSON_Delete(config);
}

/* A string accessor's value as JSON: the string, or null on VT_CLAIM_MISSING (which must
   leave the output untouched). */
static cJSON *string_accessor(const char *name, vt_result (*get)(const vt_token *, const char **), const vt_token *t) {
  const char *p = (const char *)0x1;
  vt_result r = get(t, &p);
  if (r == VT_OK && p) return cJSON_CreateString(p);
  if (r != VT_CLAIM_MISSING || p != (const char *)0x1) fail(name, "accessor:", vt_result_name(r));
  return cJSON_CreateNull();
}

static cJSON *date_accessor(const char *name, vt_result (*get)(const vt_token *, int64_t *), const vt_token *t) {
  int64_t n = 77;
  vt_result r = get(t, &n);
  if (r == VT_OK) return cJSON_CreateNumber((double)n);
  if (r != VT_CLAIM_MISSING || n != 77) fail(name, "date accessor:", vt_result_name(r));
  return cJSON_CreateNull();
}

/* Every vt_token_* accessor of a verified token, as the accessors.json object. */
static cJSON *token_accessors(const char *name, const vt_token *t) {
  cJSON *o = cJSON_CreateObject();
  const char *iss = NULL;
  if (vt_token_issuer(t, &iss) != VT_OK || !iss) fail(name, "vt_token_issuer failed", NULL);
  if (vt_token_subject(t, NULL) != VT_INVALID_ARGUMENT || vt_token_scope_count(t, NULL) != VT_INVALID_ARGUMENT) fail(name, "a NULL out is accepted", NULL);
  cJSON_AddStringToObject(o, "issuer", iss ? iss : "");
  cJSON_AddItemToObject(o, "subject", string_accessor(name, vt_token_subject, t));
  cJSON_AddItemToObject(o, "jwt_id", string_accessor(name, vt_token_jwt_id, t));
  cJSON_AddItemToObject(o, "dpop_jkt", string_accessor(name, vt_token_dpop_jkt, t));
  cJSON_AddItemToObject(o, "expires_at", date_accessor(name, vt_token_expires_at, t));
  cJSON_AddItemToObject(o, "not_before", date_accessor(name, vt_token_not_before, t));
  cJSON_AddItemToObject(o, "issued_at", date_accessor(name, vt_token_issued_at, t));
  cJSON *aud = cJSON_AddArrayToObject(o, "audiences");
  size_t n = 0;
  const char *p = (const char *)0x1;
  if (vt_token_audience_count(t, &n) != VT_OK) fail(name, "vt_token_audience_count failed", NULL);
  for (size_t i = 0; i < n; i++) {
    if (vt_token_audience(t, i, &p) != VT_OK) fail(name, "vt_token_audience failed", NULL);
    else cJSON_AddItemToArray(aud, cJSON_CreateString(p));
  }
  p = (const char *)0x1;
  if (vt_token_audience(t, n, &p) != VT_INVALID_ARGUMENT || p != (const char *)0x1) fail(name, "audience past the end", NULL);
  vt_result r = vt_token_scope_count(t, &n);
  if (r == VT_OK) {
    cJSON *scopes = cJSON_AddArrayToObject(o, "scopes");
    for (size_t i = 0; i < n; i++) {
      if (vt_token_scope(t, i, &p) != VT_OK) fail(name, "vt_token_scope failed", NULL);
      else cJSON_AddItemToArray(scopes, cJSON_CreateString(p));
    }
    cJSON_AddNullToObject(o, "scopes_error");
  } else {
    cJSON_AddNullToObject(o, "scopes");
    cJSON_AddStringToObject(o, "scopes_error", vt_result_name(r));
    if (vt_token_scope(t, 0, &p) != r) fail(name, "vt_token_scope differs from vt_token_scope_count", NULL);
  }
  return o;
}

/* accessors.json: each claims set through vt_claims_accessors_json (what the Go package
   reads), and where it has a token, through the accessors of its verified handle. */
static void run_accessors(const cJSON *list) {
  const cJSON *c;
  cJSON_ArrayForEach(c, list) {
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    const char *claims = cJSON_GetObjectItem(c, "claims_json")->valuestring;
    const cJSON *expect = cJSON_GetObjectItem(c, "expect");
    char out[4096], err[256] = "";
    accessor_cases++;
    if (vt_claims_accessors_json(claims, strlen(claims), out, sizeof out, err, sizeof err) != VT_OK) {
      fail(name, "vt_claims_accessors_json:", err);
    } else {
      cJSON *got = cJSON_Parse(out);
      if (!cJSON_Compare(got, expect, 1)) fail(name, "claims accessors differ:", out);
      else passed++;
      cJSON_Delete(got);
    }
    const cJSON *token = cJSON_GetObjectItem(c, "token");
    if (!cJSON_IsString(token)) continue;
    accessor_tokens++;
    char *config = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "config"));
    vt_verifier *v = NULL;
    vt_token *t = NULL;
    int64_t now = (int64_t)cJSON_GetObjectItem(c, "now")->valuedouble;
    if (vt_verifier_new(config, &v, err, sizeof err) != VT_OK ||
        vt_verify_at(v, token->valuestring, now, &t, err, sizeof err, NULL, 0) != VT_OK) {
      fail(name, "does not verify:", err);
    } else {
      cJSON *got = token_accessors(name, t);
      char rec[4096], want[4096];
      size_t rec_len = 0, want_len = 0;
      if (vt_token_accessor_record(t, rec, sizeof rec, &rec_len) != VT_OK ||
          vt_claims_accessor_record(claims, strlen(claims), want, sizeof want, &want_len, err, sizeof err) != VT_OK ||
          rec_len != want_len || memcmp(rec, want, rec_len) != 0)
        fail(name, "the token's accessor record differs from its claims' one", NULL);
      if (!cJSON_Compare(got, expect, 1)) {
        char *printed = cJSON_PrintUnformatted(got);
        fail(name, "token accessors differ:", printed);
        cJSON_free(printed);
      } else {
        passed++;
      }
      cJSON_Delete(got);
    }
    vt_token_free(t);
    vt_verifier_free(v);
    cJSON_free(config);
  }
}

static void run_file(const char *path) {
  char *text = slurp(path);
  cJSON *doc = text ? cJSON_Parse(text) : NULL;
  free(text);
  if (!doc) { fail(path, "cannot read", NULL); return; }
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
    const cJSON *expect = cJSON_GetObjectItem(c, "expect");
    if (strcmp(name, "hs256_valid") == 0) token_cache(c);
    char err[512] = "", claim[64] = "", *claims = NULL;
    vt_result r = run_case(c, &claims, err, sizeof err, claim, sizeof claim);
    if (cJSON_IsTrue(cJSON_GetObjectItem(expect, "anonymous"))) {
      if (r != VT_OK) fail(name, "rejected:", err);
      else if (claims) fail(name, "not anonymous:", claims);
      else passed++;
    } else if (cJSON_IsTrue(cJSON_GetObjectItem(expect, "valid"))) {
      cJSON *got = claims ? cJSON_Parse(claims) : NULL;
      if (r != VT_OK) fail(name, "rejected:", err);
      else if (!cJSON_Compare(got, cJSON_GetObjectItem(expect, "claims"), 1)) fail(name, "claims differ:", claims);
      else passed++;
      cJSON_Delete(got);
    } else {
      const char *want = cJSON_GetObjectItem(expect, "error")->valuestring;
      if (r == VT_OK) fail(name, "accepted, expected", want);
      else if (strcmp(vt_result_name(r), want) != 0) fail(name, vt_result_name(r), err);
      else if (err[0] == 0) fail(name, "no error message", NULL);
      else if (cJSON_IsString(cJSON_GetObjectItem(expect, "claim")) &&
               strcmp(cJSON_GetObjectItem(expect, "claim")->valuestring, claim) != 0) fail(name, "claim differs:", claim);
      else passed++;
    }
    free(claims);
  }
  const cJSON *accessors = cJSON_GetObjectItem(doc, "accessors");
  if (accessors) {
    if (cJSON_GetArraySize(accessors) == 0) fail(path, "an empty accessors section", NULL);
    run_accessors(accessors);
  }
  cJSON_Delete(doc);
}


/* Misuse must give a clear result, never a crash; outputs stay untouched on failure. */
static void api_misuse(void) {
  char err[64];
  vt_verifier *v = (vt_verifier *)0x1;
  CHECK(vt_verifier_new(NULL, &v, err, sizeof err) == VT_INVALID_ARGUMENT && v == (vt_verifier *)0x1);
  /* Route requirements: bad JSON or a bad field is config_invalid naming it; out untouched. */
  vt_requirement *need = (vt_requirement *)0x1;
  CHECK(vt_requirement_new(NULL, &need, err, sizeof err) == VT_INVALID_ARGUMENT && need == (vt_requirement *)0x1);
  CHECK(vt_requirement_new("{\"roles\": [\"admin\"]}", &need, err, sizeof err) == VT_CONFIG_INVALID &&
        need == (vt_requirement *)0x1 && strstr(err, "roles[0]") != NULL);
  CHECK(vt_requirement_new("{\"rules\": [{\"claim\": \"a\", \"equals\": \"b\"}]}", NULL, err, sizeof err) == VT_INVALID_ARGUMENT);
  CHECK(vt_requirement_new("{\"rules\": [{\"claim\": \"/g\", \"contains\": \"x\"}]}", &need, err, sizeof err) == VT_OK);
  char rule_claim[16] = "";
  CHECK(vt_claims_check("{\"g\":[\"x\"]}", need, err, sizeof err, rule_claim, sizeof rule_claim) == VT_OK);
  CHECK(vt_claims_check("{\"g\":[]}", need, err, sizeof err, rule_claim, sizeof rule_claim) == VT_SCOPE_INSUFFICIENT &&
        strcmp(rule_claim, "/g") == 0);
  CHECK(vt_claims_check("[1]", need, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  CHECK(vt_claims_check("{}", NULL, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  CHECK(vt_token_check(NULL, need, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  vt_requirement_free(need);
  vt_requirement_free(NULL);
  CHECK(vt_verifier_new("{\"issuers\": []}", &v, err, sizeof err) == VT_CONFIG_INVALID && v == (vt_verifier *)0x1);
  CHECK(strstr(err, "issuer") != NULL);
  CHECK(vt_verifier_new("{\"issuers\": [], \"issuers\": []}", &v, err, sizeof err) == VT_CONFIG_INVALID);
  CHECK(vt_verifier_new("{\"issuers\": []}", NULL, err, sizeof err) == VT_INVALID_ARGUMENT);
  CHECK(vt_verifier_new("{\"issuers\": []}", &v, NULL, 0) == VT_CONFIG_INVALID);
  char tiny[4] = "xyz";
  CHECK(vt_verifier_new("{\"issuers\": []}", &v, tiny, sizeof tiny) == VT_CONFIG_INVALID && strlen(tiny) == 3);
  CHECK(vt_verifier_from_file("/nonexistent.toml", &v, err, sizeof err) == VT_CONFIG_INVALID);
  CHECK(vt_verify(NULL, "a.b.c", NULL, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  char body[256], small[8] = "keep";
  CHECK(vt_error_body(VT_CLAIM_MISSING, "the \"sub\" claim is required", "sub", body, sizeof body) == VT_OK &&
        strcmp(body, "{\"error\":{\"code\":\"claim_missing\",\"message\":\"the \\\"sub\\\" claim is required\",\"claim\":\"sub\"}}") == 0);
  CHECK(vt_error_body(VT_TOKEN_EXPIRED, "expired", "", body, sizeof body) == VT_OK && strstr(body, "claim") == NULL);
  CHECK(vt_error_body(VT_OK, "x", NULL, body, sizeof body) == VT_INVALID_ARGUMENT);
  CHECK(vt_error_body(VT_TOKEN_EXPIRED, NULL, NULL, body, sizeof body) == VT_INVALID_ARGUMENT);
  CHECK(vt_error_body(VT_TOKEN_EXPIRED, "expired", NULL, small, sizeof small) == VT_BUFFER_TOO_SMALL && strcmp(small, "keep") == 0);
  CHECK(vt_error_challenge(VT_TOKEN_EXPIRED, "the token \"expired\"", "api", body, sizeof body) == VT_OK &&
        strcmp(body, "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"the token ?expired?\"") == 0);
  CHECK(vt_error_challenge(VT_SCOPE_INSUFFICIENT, "needs write", NULL, body, sizeof body) == VT_OK &&
        strstr(body, "error=\"insufficient_scope\"") != NULL);
  CHECK(vt_error_challenge(VT_TOKEN_MISSING, "no token", NULL, body, sizeof body) == VT_OK && strcmp(body, "Bearer") == 0);
  CHECK(vt_error_challenge(VT_JWKS_UNAVAILABLE, "down", NULL, body, sizeof body) == VT_OK && body[0] == 0);
  /* Results are plain integers: a number outside the enum is answered, never UB. */
  CHECK(strcmp(vt_result_name(999), "unknown") == 0 && strcmp(vt_result_name(-1), "unknown") == 0);
  CHECK(strcmp(vt_result_name(24), "unknown") == 0 && strcmp(vt_result_name(VT_REPLAY_STORE_UNAVAILABLE), "replay_store_unavailable") == 0 &&
        strcmp(vt_result_name(VT_WOULD_BLOCK), "would_block") == 0);
  CHECK(vt_result_http_status(999) == 0 && vt_result_http_status(-7) == 0 && vt_result_http_status(VT_TOKEN_EXPIRED) == 401);
  CHECK(vt_error_body(999, "x", NULL, body, sizeof body) == VT_INVALID_ARGUMENT);
  CHECK(vt_error_challenge(-3, "x", NULL, body, sizeof body) == VT_INVALID_ARGUMENT);
  vt_verifier_free(NULL);
  vt_token_free(NULL);
  CHECK(vt_token_claims_json(NULL) == NULL);
  {
    const char *p = (const char *)0x1;
    int64_t n = 5;
    size_t count = 5;
    CHECK(vt_token_subject(NULL, &p) == VT_INVALID_ARGUMENT && p == (const char *)0x1);
    CHECK(vt_token_issuer(NULL, &p) == VT_INVALID_ARGUMENT && vt_token_expires_at(NULL, &n) == VT_INVALID_ARGUMENT && n == 5);
    CHECK(vt_token_audience_count(NULL, &count) == VT_INVALID_ARGUMENT && count == 5);
    CHECK(vt_token_scope(NULL, 0, &p) == VT_INVALID_ARGUMENT && p == (const char *)0x1);
    char acc[16] = "keep";
    CHECK(vt_claims_accessors_json("{}", 2, acc, sizeof acc, err, sizeof err) == VT_BUFFER_TOO_SMALL && strcmp(acc, "keep") == 0);
    CHECK(vt_claims_accessors_json("[1]", 3, body, sizeof body, err, sizeof err) == VT_TOKEN_MALFORMED);
    CHECK(vt_claims_accessors_json(NULL, 2, body, sizeof body, err, sizeof err) == VT_INVALID_ARGUMENT);
    CHECK(vt_claims_accessors_json("{}", 2, NULL, 0, err, sizeof err) == VT_INVALID_ARGUMENT);
    size_t written = 7;
    CHECK(vt_claims_accessor_record("{}", 2, acc, sizeof acc, &written, err, sizeof err) == VT_BUFFER_TOO_SMALL &&
          strcmp(acc, "keep") == 0 && written == 7);
    CHECK(vt_claims_accessor_record("{}", 2, body, sizeof body, &written, err, sizeof err) == VT_OK && written == 52);
    CHECK(vt_claims_accessor_record("[1]", 3, body, sizeof body, &written, err, sizeof err) == VT_TOKEN_MALFORMED);
    CHECK(vt_claims_accessor_record("{}", 2, body, sizeof body, NULL, err, sizeof err) == VT_INVALID_ARGUMENT);
    CHECK(vt_claims_accessor_record(NULL, 2, body, sizeof body, &written, err, sizeof err) == VT_INVALID_ARGUMENT);
    CHECK(vt_token_accessor_record(NULL, body, sizeof body, &written) == VT_INVALID_ARGUMENT && written == 52);
  }
  CHECK(strcmp(vt_result_name(VT_TOKEN_EXPIRED), "token_expired") == 0);
  CHECK(strcmp(vt_result_name((vt_result)77), "unknown") == 0);
  CHECK(vt_result_http_status(VT_SCOPE_INSUFFICIENT) == 403 && vt_result_http_status(VT_JWKS_UNAVAILABLE) == 503);
  CHECK(strlen(vt_version()) > 0);
  CHECK(strcmp(vt_result_name(VT_WOULD_BLOCK), "would_block") == 0 && vt_result_http_status(VT_WOULD_BLOCK) == 0);

  const char *config =
      "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"algorithms\":[\"HS256\"],"
      "\"keys\":[{\"secret\":{\"value\":\"0123456789abcdef0123456789abcdef\",\"alg\":\"HS256\"}}]}]}";
  CHECK(vt_verifier_new(config, &v, err, sizeof err) == VT_OK);
  const char *names[] = {"Authorization"}, *values[] = {"Bearer abc.def.ghi"};
  char out[8] = "keep";
  CHECK(vt_extract_token(v, names, values, 1, NULL, out, sizeof out, err, sizeof err) == VT_BUFFER_TOO_SMALL && strcmp(out, "keep") == 0);
  char big[64];
  CHECK(vt_extract_token(v, names, values, 1, NULL, big, sizeof big, err, sizeof err) == VT_OK && strcmp(big, "abc.def.ghi") == 0);
  CHECK(vt_extract_token(v, NULL, NULL, 0, NULL, big, sizeof big, err, sizeof err) == VT_TOKEN_MISSING);
  vt_token *tok = (vt_token *)0x1;
  char claim[16] = "keep";
  CHECK(vt_verify(v, "\xff\xfe", &tok, err, sizeof err, claim, sizeof claim) == VT_INVALID_ARGUMENT && tok == (vt_token *)0x1 && claim[0] == 0);
  CHECK(vt_verify(v, "a.b.c", &tok, err, sizeof err, NULL, 0) == VT_TOKEN_MALFORMED && tok == (vt_token *)0x1);
  const char *want[] = {"read", "write"};
  CHECK(vt_claims_require_scopes("{\"scope\":\"read write\"}", want, 2, 0, err, sizeof err, NULL, 0) == VT_OK);
  CHECK(vt_claims_require_scopes("{\"scp\":[\"read\"]}", want, 2, 0, err, sizeof err, NULL, 0) == VT_SCOPE_INSUFFICIENT && strstr(err, "write") != NULL);
  CHECK(vt_claims_require_scopes("{\"scp\":[\"read\"]}", want, 2, 1, err, sizeof err, NULL, 0) == VT_OK);
  CHECK(vt_claims_require_scopes("{\"scope\":7}", want, 1, 0, err, sizeof err, claim, sizeof claim) == VT_CLAIM_INVALID && strcmp(claim, "scope") == 0);
  CHECK(vt_claims_require_scopes("[1]", want, 1, 0, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  CHECK(vt_claims_require_scopes("{}", NULL, 1, 0, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  /* The non-waiting verify gives the same verdicts as vt_verify when keys are static. */
  CHECK(vt_try_verify_at(v, "a.b.c", 0, &tok, err, sizeof err, NULL, 0) == VT_TOKEN_MALFORMED && tok == (vt_token *)0x1);
  CHECK(vt_try_verify_at(v, "a.b.c", 0, NULL, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  /* DPoP entry points: NULL arguments are misuse, never a crash; a bound token needs a proof. */
  CHECK(vt_verify_dpop_at(v, "a.b.c", NULL, "GET", "https://h/", 0, 1, &tok, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT && tok == (vt_token *)0x1);
  CHECK(vt_verify_dpop_at(v, "a.b.c", "p.r.f", "GET", "https://h/", 0, 1, &tok, err, sizeof err, NULL, 0) == VT_TOKEN_MALFORMED);
  CHECK(vt_verify_request_at(v, NULL, 0, 1, &tok, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  vt_request empty = {NULL, NULL, 0, NULL, NULL, NULL};
  CHECK(vt_verify_request_at(v, &empty, 0, 1, &tok, err, sizeof err, claim, sizeof claim) == VT_TOKEN_MISSING && tok == (vt_token *)0x1);
  char headers[512];
  CHECK(vt_verifier_error_headers(v, VT_TOKEN_EXPIRED, "expired", "exp", "api", headers, sizeof headers) == VT_OK &&
        strstr(headers, "content-type: application/json\r\n") != NULL &&
        strstr(headers, "www-authenticate: Bearer realm=\"api\", error=\"invalid_token\"") != NULL);
  CHECK(vt_verifier_error_headers(v, VT_DPOP_INVALID, "bad proof", "htm", NULL, headers, sizeof headers) == VT_OK &&
        strstr(headers, "www-authenticate: DPoP error=\"invalid_dpop_proof\"") != NULL);
  CHECK(vt_verifier_error_headers(NULL, VT_TOKEN_EXPIRED, "x", NULL, NULL, headers, sizeof headers) == VT_INVALID_ARGUMENT);
  CHECK(vt_verifier_error_headers(v, VT_TOKEN_EXPIRED, "x", NULL, NULL, small, sizeof small) == VT_BUFFER_TOO_SMALL);
  size_t cl = 9, hl = 9;
  char buf[64];
  CHECK(vt_verify_into(NULL, "a.b.c", 5, 0, 1, buf, sizeof buf, &cl, &hl, NULL, NULL, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  CHECK(vt_verify_into(v, "a.b.c", 5, 0, 1, buf, sizeof buf, NULL, &hl, NULL, NULL, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  CHECK(vt_verify_into(v, "a.b.c", 5, 0, 1, NULL, sizeof buf, &cl, &hl, NULL, NULL, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  CHECK(vt_verify_into(v, NULL, 5, 0, 1, buf, sizeof buf, &cl, &hl, NULL, NULL, err, sizeof err, NULL, 0) == VT_INVALID_ARGUMENT);
  CHECK(vt_verify_into(v, "\xff\xfe", 2, 0, 1, buf, sizeof buf, &cl, &hl, NULL, NULL, err, sizeof err, claim, sizeof claim) == VT_INVALID_ARGUMENT &&
        cl == 9 && hl == 9);
  char names_out[64];
  CHECK(vt_verifier_credential_header_names(v, names_out, sizeof names_out, err, sizeof err) == VT_OK &&
        strcmp(names_out, "authorization") == 0);
  char names_small[8] = "keep";
  CHECK(vt_verifier_credential_header_names(v, names_small, sizeof names_small, err, sizeof err) == VT_BUFFER_TOO_SMALL &&
        strcmp(names_small, "keep") == 0);
  CHECK(vt_verifier_credential_header_names(NULL, names_out, sizeof names_out, err, sizeof err) == VT_INVALID_ARGUMENT);
  CHECK(vt_verifier_credential_header_names(v, NULL, 64, err, sizeof err) == VT_INVALID_ARGUMENT);
  {
    const char *sourced =
        "{\"issuers\":[{\"issuer\":\"https://i\",\"audiences\":[\"a\"],\"algorithms\":[\"HS256\"],"
        "\"keys\":[{\"secret\":{\"value\":\"0123456789abcdef0123456789abcdef\",\"alg\":\"HS256\"}}]}],"
        "\"dpop\":{\"mode\":\"allowed\"},"
        "\"token_sources\":[{\"header\":{\"name\":\"X-Api-Token\"}},{\"query\":{\"name\":\"t\"}},{\"cookie\":{\"name\":\"at\"}}]}";
    vt_verifier *w = NULL;
    CHECK(vt_verifier_new(sourced, &w, err, sizeof err) == VT_OK);
    CHECK(vt_verifier_credential_header_names(w, names_out, sizeof names_out, err, sizeof err) == VT_OK &&
          strcmp(names_out, "authorization\ndpop\nx-api-token\ncookie") == 0);
    vt_verifier_free(w);
  }
  char metrics[1024];
  CHECK(vt_verifier_metrics_json(v, metrics, sizeof metrics, err, sizeof err) == VT_OK && strstr(metrics, "\"token_malformed\":3") != NULL);
  vt_verifier_free(v);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) run_file(argv[i]);
  api_misuse();
  printf("%d passed, %d failed\n", passed, failed);
  printf("%d accessor cases (%d through a verified token)\n", accessor_cases, accessor_tokens);
  if (accessor_cases == 0 || accessor_tokens == 0) fail("accessors", "no accessor cases (tests/vectors/accessors.json)", NULL);
  return failed == 0 && passed > 150 ? 0 : 1;
}
