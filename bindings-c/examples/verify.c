/*
 * A small libveritoken example: verify CONFIG TOKEN
 * Prints the claims (exit 0) or the error code and message (exit 1); 2 for bad usage.
 * Build: cc verify.c $(pkg-config --cflags --libs veritoken) -o verify
 */
#include <stdio.h>

#include "veritoken.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s CONFIG.{json,toml,yaml} TOKEN\n", argv[0]);
    return 2;
  }
  char err[256], claim[64];
  vt_verifier *verifier = NULL;
  vt_result r = vt_verifier_from_file(argv[1], &verifier, err, sizeof err);
  if (r != VT_OK) {
    fprintf(stderr, "%s: %s\n", vt_result_name(r), err);
    return 2;
  }
  vt_token *token = NULL;
  r = vt_verify(verifier, argv[2], &token, err, sizeof err, claim, sizeof claim);
  if (r == VT_OK) {
    printf("%s\n", vt_token_claims_json(token));
  } else {
    char body[512];
    if (vt_error_body(r, err, claim, body, sizeof body) != VT_OK) body[0] = 0;
    printf("%s (HTTP %u): %s\n", vt_result_name(r), vt_result_http_status(r), body);
  }
  vt_token_free(token);
  vt_verifier_free(verifier);
  return r == VT_OK ? 0 : 1;
}
