/* Prometheus metrics: a registry of counters and gauges, rendered in the text
 * exposition format by the health/metrics HTTP endpoint (parry/http.h).
 *
 * A metric is a family name plus an optional fixed label set, registered once
 * (at start-up or when a new label value first appears) and then updated with
 * lock-free atomics from any thread. Registering the same name and labels
 * twice returns the same metric, so modules need not coordinate.
 *
 *   parry_metric_t *sent = parry_metrics_counter(reg, "parry_events_published_total",
 *       "Events acknowledged by Kafka", "topic", "parry.events", NULL);
 *   parry_metric_add(sent, 1);
 */
#ifndef PARRY_METRICS_H
#define PARRY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/buf.h"

typedef struct parry_metrics parry_metrics_t;
typedef struct parry_metric parry_metric_t;

parry_metrics_t *parry_metrics_new(void);
void parry_metrics_destroy(parry_metrics_t *reg); /* accepts NULL */

/* Register (or find) a metric. The variadic part is label name/value pairs
 * ending with NULL. Strings are copied. The metric lives as long as reg. */
parry_metric_t *parry_metrics_counter(parry_metrics_t *reg, const char *name,
                                      const char *help, ...)
    __attribute__((sentinel));
parry_metric_t *parry_metrics_gauge(parry_metrics_t *reg, const char *name,
                                    const char *help, ...)
    __attribute__((sentinel));

void parry_metric_add(parry_metric_t *m, int64_t delta); /* counters: delta >= 0 */
void parry_metric_set(parry_metric_t *m, int64_t value); /* gauges */
int64_t parry_metric_value(const parry_metric_t *m);

/* Append the whole registry in Prometheus text format to out. */
void parry_metrics_render(parry_metrics_t *reg, parry_buf_t *out);

#endif
