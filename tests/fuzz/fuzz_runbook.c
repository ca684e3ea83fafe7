/* libFuzzer target for the runbook loader.
 *
 * The input is a runbook file. It is loaded; every error must carry a field
 * and a message and a position within the text's line count; when runbooks
 * load, each step's `when` is evaluated and its `with` rendered against a
 * small context, matching run against an alert, and a second load of the
 * same text must give the same number of errors (determinism).
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "runbook/runbook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  const char *text = (const char *)data;
  /* an upper bound of the lines libyaml counts: it also breaks lines at CR,
   * NEL (C2 85) and LS/PS (E2 80 A8/A9) */
  size_t lines = 1;
  for (size_t i = 0; i < size; i++)
    lines += data[i] == '\n' || data[i] == '\r' || data[i] == 0x85 || data[i] == 0xE2;
  parry_runbook_report_t rep = {0}, rep2 = {0};
  char err[256];
  parry_runbook_set_t *set = parry_runbooks_load_text("f.yml", text, size, &rep, err, sizeof err);
  if (!set) abort();
  for (size_t i = 0; i < rep.n_errors; i++) {
    const parry_runbook_error_t *e = &rep.errors[i];
    if (!e->field || !e->message || !*e->message || e->line > lines + 1) abort();
  }
  parry_runbook_set_t *again =
      parry_runbooks_load_text("f.yml", text, size, &rep2, err, sizeof err);
  if (rep2.n_errors != rep.n_errors ||
      parry_runbook_set_count(again) != parry_runbook_set_count(set))
    abort();
  parry_runbook_set_destroy(again);
  parry_runbook_report_free(&rep2);

  static const char alert_json[] =
      "{\"id\":\"f\",\"@timestamp\":\"2026-12-04T10:00:00Z\",\"rule\":{\"id\":\"r\",\"level\":"
      "\"high\","
      "\"tags\":[\"t\"]},\"group_by\":{\"source.ip\":\"1.2.3.4\"},\"count\":3}";
  Parry__V1__Alert *alert = NULL;
  if (parry_alert_from_json(alert_json, sizeof alert_json - 1, &alert, err, sizeof err) != PARRY_OK)
    abort();
  for (size_t r = 0; r < parry_runbook_set_count(set); r++) {
    const parry_runbook_t *rb = parry_runbook_set_get(set, r);
    (void)parry_runbook_matches(rb, alert);
    struct json_object *ctx = parry_runbook_context_new(rb, alert, NULL, err, sizeof err);
    if (!ctx) abort();
    parry_buf_t key = PARRY_BUF_INIT(0);
    if (parry_runbook_group_key(rb, json_object_object_get(ctx, "alert"), &key, err, sizeof err))
      abort();
    parry_buf_free(&key);
    for (size_t s = 0; s < rb->n_steps; s++) {
      const parry_step_t *st = &rb->steps[s];
      bool run;
      if (parry_step_when(st, ctx, &run, err, sizeof err)) abort();
      struct json_object *in = NULL;
      if (parry_runbook_render_with(st, ctx, parry_step_escape_for, (void *)st, &in, err,
                                    sizeof err) == PARRY_OK &&
          !in)
        abort();
      json_object_put(in);
      (void)parry_step_backoff_ns(st, 3, 0.5);
    }
    json_object_put(ctx);
  }
  const parry_runbook_t *m[4];
  (void)parry_runbooks_match(set, alert, m, 4);
  parry__v1__alert__free_unpacked(alert, NULL);
  parry_runbook_set_destroy(set);
  parry_runbook_report_free(&rep);
  return 0;
}
