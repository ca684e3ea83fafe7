#include "parry/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"

struct parry_metric {
  struct parry_metric *next; /* within its family, in registration order */
  char *labels;              /* rendered: {k="v",...} or "" */
  _Atomic int64_t value;
};

typedef struct family {
  struct family *next;
  char *name;
  char *help;
  const char *type; /* "counter" or "gauge" */
  parry_metric_t *metrics;
} family_t;

/* Registration takes the lock; updates are atomics and never do. */
struct parry_metrics {
  pthread_mutex_t lock;
  family_t *families;
};

parry_metrics_t *parry_metrics_new(void) {
  parry_metrics_t *reg = parry_xnew(parry_metrics_t, 1);
  pthread_mutex_init(&reg->lock, NULL);
  return reg;
}

void parry_metrics_destroy(parry_metrics_t *reg) {
  if (!reg) return;
  for (family_t *f = reg->families, *fn; f; f = fn) {
    fn = f->next;
    for (parry_metric_t *m = f->metrics, *mn; m; m = mn) {
      mn = m->next;
      free(m->labels);
      free(m);
    }
    free(f->name);
    free(f->help);
    free(f);
  }
  pthread_mutex_destroy(&reg->lock);
  free(reg);
}

/* Label values escaped as the exposition format requires. */
static void render_labels(parry_buf_t *out, va_list ap) {
  const char *key;
  bool first = true;
  while ((key = va_arg(ap, const char *)) != NULL) {
    const char *value = va_arg(ap, const char *);
    if (!value) value = "";
    parry_buf_append_str(out, first ? "{" : ",");
    first = false;
    parry_buf_printf(out, "%s=\"", key);
    for (const char *p = value; *p; p++) {
      if (*p == '\\') parry_buf_append_str(out, "\\\\");
      else if (*p == '"') parry_buf_append_str(out, "\\\"");
      else if (*p == '\n') parry_buf_append_str(out, "\\n");
      else parry_buf_append_char(out, *p);
    }
    parry_buf_append_char(out, '"');
  }
  if (!first) parry_buf_append_char(out, '}');
}

static parry_metric_t *register_metric(parry_metrics_t *reg, const char *type,
                                       const char *name, const char *help,
                                       va_list ap) {
  parry_buf_t labels = PARRY_BUF_INIT(0);
  render_labels(&labels, ap);
  char *rendered = parry_buf_steal(&labels);

  pthread_mutex_lock(&reg->lock);
  family_t *f = reg->families, *last = NULL;
  for (; f && strcmp(f->name, name) != 0; f = f->next) last = f;
  if (!f) {
    f = parry_xnew(family_t, 1);
    f->name = parry_xstrdup(name);
    f->help = parry_xstrdup(help ? help : "");
    f->type = type;
    if (last) last->next = f; else reg->families = f;
  }
  parry_metric_t *m = f->metrics, *mlast = NULL;
  for (; m && strcmp(m->labels, rendered) != 0; m = m->next) mlast = m;
  if (!m) {
    m = parry_xnew(parry_metric_t, 1);
    m->labels = rendered;
    rendered = NULL;
    atomic_init(&m->value, 0);
    if (mlast) mlast->next = m; else f->metrics = m;
  }
  pthread_mutex_unlock(&reg->lock);
  free(rendered);
  return m;
}

parry_metric_t *parry_metrics_counter(parry_metrics_t *reg, const char *name,
                                      const char *help, ...) {
  va_list ap;
  va_start(ap, help);
  parry_metric_t *m = register_metric(reg, "counter", name, help, ap);
  va_end(ap);
  return m;
}

parry_metric_t *parry_metrics_gauge(parry_metrics_t *reg, const char *name,
                                    const char *help, ...) {
  va_list ap;
  va_start(ap, help);
  parry_metric_t *m = register_metric(reg, "gauge", name, help, ap);
  va_end(ap);
  return m;
}

void parry_metric_add(parry_metric_t *m, int64_t delta) {
  atomic_fetch_add_explicit(&m->value, delta, memory_order_relaxed);
}

void parry_metric_set(parry_metric_t *m, int64_t value) {
  atomic_store_explicit(&m->value, value, memory_order_relaxed);
}

int64_t parry_metric_value(const parry_metric_t *m) {
  return atomic_load_explicit((_Atomic int64_t *)&m->value, memory_order_relaxed);
}

void parry_metrics_render(parry_metrics_t *reg, parry_buf_t *out) {
  pthread_mutex_lock(&reg->lock);
  for (family_t *f = reg->families; f; f = f->next) {
    parry_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
    for (parry_metric_t *m = f->metrics; m; m = m->next)
      parry_buf_printf(out, "%s%s %lld\n", f->name, m->labels,
                       (long long)parry_metric_value(m));
  }
  pthread_mutex_unlock(&reg->lock);
}
