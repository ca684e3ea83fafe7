/* parry generate: seeded sshd syslog and Windows logon traffic with
 * attackers (cli/generate/gen.h), to files or stdout, and its manifest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "generate/gen.h"
#include "parry/timefmt.h"

static const char usage[] =
    "usage: parry generate [--seed N] [--duration 10m] [--rate EPS] [--start TIME|now]\n"
    "                      [--format syslog|windows|both] [--out-syslog FILE]\n"
    "                      [--out-windows FILE] [--manifest FILE]\n"
    "\n"
    "Writes realistic sshd syslog (RFC 3164) and Windows Security logon events (EVTX\n"
    "JSON: 4624, 4625, 4648, 4776), one record per line, with background noise and\n"
    "four attackers: a fast and a slow SSH brute force, a Windows password spray, and\n"
    "a brute force from the allowlisted range " PARRY_GEN_ALLOWLIST_CIDR ".\n"
    "\n"
    "The same seed and options give byte-identical output. Event times start at\n"
    "--start (RFC 3339; default 2026-03-02T09:00:00Z; `now` for live use), increase,\n"
    "and span --duration (default 10m; attackers scale into shorter runs). --rate is\n"
    "the background's records per second (default 5). Syslog goes to --out-syslog,\n"
    "Windows events to --out-windows; what has no file goes to stdout, both kinds\n"
    "interleaved in time order. --manifest FILE writes the attackers and what each\n"
    "should trigger as JSON (`-` for stderr).\n";

static FILE *open_out(const char *path, FILE *fallback, FILE *err) {
  if (!path || strcmp(path, "-") == 0) return fallback;
  FILE *f = fopen(path, "w");
  if (!f) fprintf(err, "parry generate: could not open %s: %s\n", path, strerror(errno));
  return f;
}

/* The value of option argv[*i] given as "--name V" or "--name=V"; NULL when
 * argv[*i] is not that option. */
static const char *opt_value(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] == '\0' && *i + 1 < argc) return argv[++*i];
  return NULL;
}

int parry_cmd_generate(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  (void)envp;
  parry_gen_options_t o;
  parry_gen_options_default(&o);
  const char *out_syslog = NULL, *out_windows = NULL, *manifest = NULL, *v;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, out);
      return 0;
    } else if ((v = opt_value(argc, argv, &i, "--seed"))) {
      char *end;
      errno = 0;
      o.seed = strtoull(v, &end, 10);
      if (errno || end == v || *end) goto bad;
    } else if ((v = opt_value(argc, argv, &i, "--duration"))) {
      if (!parry_gen_parse_duration(v, &o.duration_ns)) goto bad;
    } else if ((v = opt_value(argc, argv, &i, "--rate"))) {
      char *end;
      o.rate = strtod(v, &end);
      if (end == v || *end) goto bad;
    } else if ((v = opt_value(argc, argv, &i, "--start"))) {
      if (strcmp(v, "now") == 0) o.start_ns = parry_time_now_ns() / 1000000000LL * 1000000000LL;
      else if (parry_time_parse_rfc3339(v, strlen(v), &o.start_ns) != PARRY_OK) goto bad;
    } else if ((v = opt_value(argc, argv, &i, "--format"))) {
      if (strcmp(v, "syslog") == 0) o.formats = PARRY_GEN_SYSLOG;
      else if (strcmp(v, "windows") == 0) o.formats = PARRY_GEN_WINDOWS;
      else if (strcmp(v, "both") == 0) o.formats = PARRY_GEN_SYSLOG | PARRY_GEN_WINDOWS;
      else goto bad;
    } else if ((v = opt_value(argc, argv, &i, "--out-syslog"))) {
      out_syslog = v;
    } else if ((v = opt_value(argc, argv, &i, "--out-windows"))) {
      out_windows = v;
    } else if ((v = opt_value(argc, argv, &i, "--manifest"))) {
      manifest = v;
    } else {
      fprintf(err, "parry generate: unknown or incomplete option \"%s\"\n%s", argv[i], usage);
      return 2;
    }
    continue;
  bad:
    fprintf(err, "parry generate: bad value \"%s\" for %s\n", v, argv[i - (argv[i] == v)]);
    return 2;
  }

  char errstr[256];
  parry_gen_t *g = parry_gen_new(&o, errstr, sizeof errstr);
  if (!g) {
    fprintf(err, "parry generate: %s\n", errstr);
    return 2;
  }
  int rc = 0;
  FILE *fs = open_out(out_syslog, out, err), *fw = open_out(out_windows, out, err);
  if (!fs || !fw) {
    rc = 1;
    goto done;
  }
  for (size_t i = 0; i < parry_gen_count(g); i++) {
    const parry_gen_record_t *r = parry_gen_record(g, i);
    FILE *f = r->kind == PARRY_GEN_SYSLOG ? fs : fw;
    fwrite(r->text, 1, r->len, f);
    fputc('\n', f);
  }
  if (manifest) {
    parry_buf_t b = PARRY_BUF_INIT(0);
    parry_gen_manifest(g, &b);
    FILE *fm = strcmp(manifest, "-") == 0 ? err : fopen(manifest, "w");
    if (!fm) {
      fprintf(err, "parry generate: could not open %s: %s\n", manifest, strerror(errno));
      rc = 1;
    } else {
      fwrite(b.data, 1, b.len, fm);
      if (fm != err && fclose(fm)) rc = 1;
    }
    parry_buf_free(&b);
  }
  if (fflush(out)) rc = 1;
done:
  if (fs && fs != out && fclose(fs)) rc = 1;
  if (fw && fw != out && fclose(fw)) rc = 1;
  if (rc == 1) fprintf(err, "parry generate: could not write everything\n");
  parry_gen_destroy(g);
  return rc;
}
