/* The fleet's expected alerts, computed offline: `parry detect` over the
 * same traffic with the same rules runs the same detection and correlation
 * code, and alert ids are deterministic (rule, group key, window start), so
 * the alerts the fleet stores must be exactly these. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dev.h"
#include "parry/mem.h"

static int attacker_of(const parry_gen_t *g, json_object *group_by) {
  if (!group_by || !json_object_is_type(group_by, json_type_object)) return -1;
  json_object_object_foreach(group_by, key, val) {
    (void)key;
    const char *v = json_object_get_string(val);
    for (size_t i = 0; v && i < parry_gen_attacker_count(g) && i < 8; i++)
      if (strcmp(v, parry_gen_attacker(g, i)->source_ip) == 0) return (int)i;
  }
  return -1;
}

bool dev_expected_offline(dev_expected_t *exp, const parry_gen_t *g, const char *rules,
                          const char *traffic, char *errstr, size_t errstr_size) {
  memset(exp, 0, sizeof *exp);
  char *argv[] = {"parry", "detect", "--rules", (char *)rules, (char *)traffic, NULL};
  char *envp[] = {NULL};
  char *obuf = NULL, *ebuf = NULL;
  size_t olen = 0, elen = 0;
  FILE *out = open_memstream(&obuf, &olen), *err = open_memstream(&ebuf, &elen);
  if (!out || !err) {
    snprintf(errstr, errstr_size, "open_memstream failed");
    if (out) fclose(out);
    if (err) fclose(err);
    free(obuf);
    free(ebuf);
    return false;
  }
  int rc = parry_cli_main(5, argv, envp, out, err);
  fclose(out);
  fclose(err);
  bool ok = rc == 0;
  if (!ok) snprintf(errstr, errstr_size, "parry detect: %.300s", ebuf ? ebuf : "failed");
  for (char *save = NULL, *line = ok ? strtok_r(obuf, "\n", &save) : NULL; line;
       line = strtok_r(NULL, "\n", &save)) {
    json_object *a = json_tokener_parse(line), *id = NULL, *gb = NULL;
    if (!a) continue;
    json_object_object_get_ex(a, "id", &id);
    json_object_object_get_ex(a, "group_by", &gb);
    int k = attacker_of(g, gb);
    if (k < 0) {
      exp->other++;
    } else if (id) {
      exp->ids[k] = parry_xreallocarray(exp->ids[k], exp->n_ids[k] + 1, sizeof *exp->ids[k]);
      exp->ids[k][exp->n_ids[k]++] = parry_xstrdup(json_object_get_string(id));
    }
    json_object_put(a);
  }
  free(obuf);
  free(ebuf);
  exp->known = ok;
  return ok;
}

void dev_expected_free(dev_expected_t *exp) {
  for (size_t k = 0; k < 8; k++) {
    for (size_t i = 0; i < exp->n_ids[k]; i++) free(exp->ids[k][i]);
    free(exp->ids[k]);
  }
  memset(exp, 0, sizeof *exp);
}
