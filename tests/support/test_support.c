#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *parry_test_service(const char *var, const char *what) {
  const char *value = getenv(var);
  if (value && *value) return value;
  const char *require = getenv("PARRY_REQUIRE_SERVICES");
  if (require && strcmp(require, "1") == 0)
    fail_msg("%s is not set: this test needs %s and PARRY_REQUIRE_SERVICES=1", var, what);
  printf("# skipping: %s is not set (this test needs %s; `make test` starts one)\n",
         var, what);
  return NULL;
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *parry_test_source_dir(void) {
  const char *dir = getenv("PARRY_SOURCE_DIR");
  return dir && *dir ? dir : ".";
}

const char *parry_test_data_dir(void) {
  static char path[4096];
  const char *env = getenv("PARRY_TESTDATA");
  if (env && *env) {
    if (is_dir(env)) return env;
    printf("# skipping: PARRY_TESTDATA=%s is not a directory\n", env);
    return NULL;
  }
  snprintf(path, sizeof path, "%s/../shared/data", parry_test_source_dir());
  if (is_dir(path)) return path;
  printf("# skipping: no shared test data at %s (set PARRY_TESTDATA)\n", path);
  return NULL;
}

void parry_test_unique_name(const char *prefix, char *out, size_t out_size) {
  static unsigned counter;
  snprintf(out, out_size, "%s-%ld-%ld-%u", prefix, (long)getpid(), (long)time(NULL),
           counter++);
}

int parry_test_tmpdir_make(char *dir, size_t size, const char *template_path) {
  if ((size_t)snprintf(dir, size, "%s", template_path) >= size) return -1;
  return mkdtemp(dir) ? 0 : -1;
}

int parry_test_tmpdir_remove(const char *dir) {
  /* The folder name is ours (mkdtemp), never data, so the shell sees no input. */
  char cmd[1100];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

void parry_test_write_file(const char *dir, const char *name, const char *text, char *path,
                           size_t size) {
  snprintf(path, size, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}
