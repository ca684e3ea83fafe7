/* parry config: print the settings reference, or load a configuration the way
 * a service would and show every effective value with where it came from. */
#include <stdbool.h>
#include <string.h>

#include "cli.h"
#include "parry/buf.h"
#include "parry/config.h"

static const char usage[] =
    "usage: parry config --reference [--markdown]\n"
    "       parry config [--config FILE] [--set key=value]...\n"
    "\n"
    "--reference prints every setting with its type, default and help\n"
    "(--markdown: the form of docs/configuration.md). Without it, loads the\n"
    "configuration as a service would (file, then PARRY_* variables, then --set)\n"
    "and prints each effective value and its source; secrets are masked.\n";

typedef struct {
  FILE *out;
} print_ctx_t;

static void print_kafka(const char *name, const char *value, const char *source, void *opaque) {
  print_ctx_t *ctx = opaque;
  /* Any librdkafka property may carry a secret (sasl.password, ssl.key.password). */
  bool secret = strstr(name, "password") || strstr(name, "secret") || strstr(name, "key");
  fprintf(ctx->out, "kafka.%s = %s  (%s)\n", name, secret ? "********" : value, source);
}

int parry_cmd_config(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  bool reference = false, markdown = false;
  parry_config_t *cfg = parry_config_new();
  char errstr[1024];
  int rc = 0;

  if (parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr)) {
    fprintf(err, "parry config: %s\n", errstr);
    rc = 1;
    goto out;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--reference") == 0) reference = true;
    else if (strcmp(argv[i], "--markdown") == 0) markdown = true;
    else if (strcmp(argv[i], "--help") == 0) { fputs(usage, out); goto out; }
    else {
      fprintf(err, "parry config: unknown argument \"%s\"\n%s", argv[i], usage);
      rc = 2;
      goto out;
    }
  }
  if (reference) {
    parry_buf_t buf = PARRY_BUF_INIT(0);
    parry_config_reference(&buf, markdown);
    fwrite(buf.data, 1, buf.len, out);
    parry_buf_free(&buf);
    goto out;
  }
  for (size_t i = 0; i < parry_settings_count; i++) {
    const parry_setting_t *s = &parry_settings[i];
    const char *value = parry_config_str(cfg, s->key);
    if (s->type == PARRY_SETTING_SECRET && *value) value = "********";
    fprintf(out, "%s = %s  (%s)\n", s->key, value, parry_config_source(cfg, s->key));
  }
  print_ctx_t ctx = {out};
  parry_config_foreach_kafka(cfg, print_kafka, &ctx);
out:
  parry_config_destroy(cfg);
  return rc;
}
