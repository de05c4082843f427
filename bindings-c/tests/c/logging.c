/* vt_set_log_callback: a JWKS fetch failure (a jwks_uri on a closed loopback port) reaches
 * the callback with its level, message and fields, from whatever thread fetched; no token
 * or URL secret appears; a bad level is VT_INVALID_ARGUMENT. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "veritoken.h"

#define CHECK(cond, ...)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "logging.c:%d: ", __LINE__);                                        \
      fprintf(stderr, __VA_ARGS__);                                                       \
      fputc('\n', stderr);                                                                \
      return 1;                                                                           \
    }                                                                                     \
  } while (0)

struct seen {
  pthread_mutex_t lock;
  int warn_failures; /* "key fetch failed" records at VT_LOG_WARN with an issuer field */
  int debug_records;
  int leaked;        /* records that showed the token or the URL's secrets */
  const char *token;
};

static void on_log(const vt_log_record *r, void *user_data) {
  struct seen *s = user_data;
  pthread_mutex_lock(&s->lock);
  if (r->level == VT_LOG_DEBUG) s->debug_records++;
  if (strstr(r->line, s->token) || strstr(r->line, "hunter2") || strstr(r->line, "s3cr3t")) s->leaked++;
  if (r->level == VT_LOG_WARN && strncmp(r->message, "key fetch failed", 16) == 0) {
    for (size_t i = 0; i < r->field_count; i++) {
      if (strcmp(r->field_names[i], "issuer") == 0 && strcmp(r->field_values[i], "https://issuer.test") == 0)
        s->warn_failures++;
    }
  }
  pthread_mutex_unlock(&s->lock);
}

static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &n) != 0)
    return -1;
  close(fd);
  return ntohs(a.sin_port);
}

int main(void) {
  char err[256];
  struct seen s = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, NULL};
  /* {"alg":"RS256","kid":"k"} . {"iss":"https://issuer.test","aud":"api","exp":4102444800} . "sig" */
  s.token =
      "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ."
      "eyJpc3MiOiJodHRwczovL2lzc3Vlci50ZXN0IiwiYXVkIjoiYXBpIiwiZXhwIjo0MTAyNDQ0ODAwfQ.c2ln";

  CHECK(vt_set_log_callback(on_log, 9, &s, err, sizeof err) == VT_INVALID_ARGUMENT, "level 9 accepted");
  CHECK(vt_set_log_callback(on_log, VT_LOG_DEBUG, &s, err, sizeof err) == VT_OK, "%s", err);

  int port = closed_port();
  CHECK(port > 0, "no free port");
  char config[512];
  snprintf(config, sizeof config,
           "{\"issuers\": [{\"issuer\": \"https://issuer.test\", \"audiences\": [\"api\"], "
           "\"algorithms\": [\"RS256\"], \"jwks_uri\": \"http://u:hunter2@127.0.0.1:%d/jwks?k=s3cr3t\", "
           "\"jwks_cache\": {\"timeout_ms\": 2000, \"allow_http\": true}}]}",
           port);
  vt_verifier *v = NULL;
  CHECK(vt_verifier_new(config, &v, err, sizeof err) == VT_OK, "%s", err);
  vt_token *t = NULL;
  vt_result r = vt_verify(v, s.token, &t, err, sizeof err, NULL, 0);
  CHECK(r == VT_JWKS_UNAVAILABLE, "vt_verify: %d %s", r, err);

  pthread_mutex_lock(&s.lock);
  int failures = s.warn_failures, debug = s.debug_records, leaked = s.leaked;
  pthread_mutex_unlock(&s.lock);
  CHECK(failures >= 1, "no warn record for the fetch failure");
  CHECK(debug >= 1, "no debug record (\"fetching keys\")");
  CHECK(leaked == 0, "%d records showed a token or a secret", leaked);

  /* NULL stops the records; the old callback is never called again afterwards here. */
  CHECK(vt_set_log_callback(NULL, VT_LOG_TRACE, NULL, err, sizeof err) == VT_OK, "%s", err);
  vt_verifier_free(v);
  printf("logging: %d failure record(s), %d debug record(s)\n", failures, debug);
  return 0;
}
