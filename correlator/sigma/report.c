/* The load report: what was loaded, and every rejection with its place and
 * reason. */
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"
#include "sigma/sigma_int.h"

static const char *const reasons[PARRY_SIGMA_REJECT_N_REASONS] = {
    [PARRY_SIGMA_REJECT_IO] = "io",
    [PARRY_SIGMA_REJECT_YAML] = "yaml",
    [PARRY_SIGMA_REJECT_STRUCTURE] = "structure",
    [PARRY_SIGMA_REJECT_CONDITION] = "condition",
    [PARRY_SIGMA_REJECT_MODIFIER] = "modifier",
    [PARRY_SIGMA_REJECT_VALUE] = "value",
    [PARRY_SIGMA_REJECT_REGEX] = "regex",
    [PARRY_SIGMA_REJECT_PLACEHOLDER] = "placeholder",
    [PARRY_SIGMA_REJECT_UNSUPPORTED] = "unsupported",
    [PARRY_SIGMA_REJECT_DUPLICATE] = "duplicate",
    [PARRY_SIGMA_REJECT_LIMIT] = "limit",
    [PARRY_SIGMA_REJECT_INTERNAL] = "internal error",
};

const char *parry_sigma_reject_reason_str(parry_sigma_reject_reason_t r) {
  return (unsigned)r < PARRY_SIGMA_REJECT_N_REASONS ? reasons[r] : "unknown";
}

void sg_report_reject(parry_sigma_report_t *r, const char *file, const char *rule,
                      const sg_err_t *e) {
  size_t cap = r->n_rejections;
  /* capacity is the next power of two at or above the count */
  if (r->n_rejections == 0 || (r->n_rejections & (r->n_rejections - 1)) == 0) {
    cap = r->n_rejections ? r->n_rejections * 2 : 1;
    r->rejections = parry_xreallocarray(r->rejections, cap, sizeof *r->rejections);
  }
  parry_sigma_rejection_t *x = &r->rejections[r->n_rejections++];
  x->file = parry_xstrdup(file ? file : "");
  x->line = e->line;
  x->column = e->column;
  x->rule_id = rule ? parry_xstrdup(rule) : NULL;
  x->reason = (unsigned)e->reason < PARRY_SIGMA_REJECT_N_REASONS ? e->reason
                                                                  : PARRY_SIGMA_REJECT_INTERNAL;
  x->message = parry_xstrdup(e->msg);
  r->rejected++;
  r->by_reason[x->reason]++;
}

void parry_sigma_report_free(parry_sigma_report_t *report) {
  if (!report) return;
  for (size_t i = 0; i < report->n_rejections; i++) {
    free(report->rejections[i].file);
    free(report->rejections[i].rule_id);
    free(report->rejections[i].message);
  }
  free(report->rejections);
  memset(report, 0, sizeof *report);
}

void parry_sigma_report_print(const parry_sigma_report_t *r, FILE *out, bool details) {
  fprintf(out,
          "sigma: files=%zu documents=%zu rules=%zu filters=%zu correlations=%zu (not yet "
          "evaluated) rejected=%zu\n",
          r->files, r->documents, r->rules_loaded, r->filters_loaded, r->correlations, r->rejected);
  for (int i = 0; i < PARRY_SIGMA_REJECT_N_REASONS; i++)
    if (r->by_reason[i]) fprintf(out, "sigma:   rejected %-12s %zu\n", reasons[i], r->by_reason[i]);
  if (r->filter_refs_unresolved)
    fprintf(out, "sigma:   filter references naming no loaded rule: %zu\n", r->filter_refs_unresolved);
  if (!details) return;
  for (size_t i = 0; i < r->n_rejections; i++) {
    const parry_sigma_rejection_t *x = &r->rejections[i];
    fprintf(out, "%s:%u:%u: %s: %s%s%s%s\n", x->file, x->line, x->column, reasons[x->reason],
            x->message, x->rule_id ? " (rule " : "", x->rule_id ? x->rule_id : "",
            x->rule_id ? ")" : "");
  }
}
