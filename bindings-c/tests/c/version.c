/* vt_version() is the workspace version of Cargo.toml, passed in by the Makefile as
 * VT_EXPECTED_VERSION (one version for every veritoken package). */
#include <stdio.h>
#include <string.h>

#include "veritoken.h"

int main(void) {
  const char *version = vt_version();
  if (version == NULL || strcmp(version, VT_EXPECTED_VERSION) != 0) {
    fprintf(stderr, "vt_version() = \"%s\", Cargo.toml has \"%s\"\n", version ? version : "(null)",
            VT_EXPECTED_VERSION);
    return 1;
  }
  printf("vt_version() = %s\n", version);
  return 0;
}
