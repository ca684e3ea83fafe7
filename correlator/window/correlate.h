/* Sigma correlation rules: the stateful window engine (Contract A).
 *
 * Two halves:
 *   - stage 1 side: parry_corr_signals turns "detection rule R matched
 *     event E" into one Signal per correlation rule that uses R, with the
 *     group-by values, the value field and the event's time filled in, and
 *     the partition key for topics.signals;
 *   - stage 2 side: an engine keeps compact state per (correlation rule,
 *     group key), fed with Signals, and reports Alerts and every state
 *     change (for a compacted changelog) through a sink.
 *
 * The exact semantics (when an alert fires, what happens after, late and
 * out-of-order signals, suppression, lt/lte conditions, chained rules,
 * memory cap, idle expiry) are in docs/correlation.md. The short version:
 *   - signals of one key are released into the window logic in event-time
 *     order once they are older than (the key's newest time - allowed
 *     lateness); older ones are late (counted, ignored). So results depend
 *     only on each key's own signals, not on arrival order within the
 *     lateness nor on the interleaving of keys;
 *   - conditions with only lower bounds (gt, gte) on event_count,
 *     value_count, value_sum, temporal and temporal_ordered fire at the
 *     signal that makes them true over the sliding window
 *     [t - timespan, t] (both ends included); the key's window state is
 *     then cleared, so one burst raises one alert;
 *   - every other condition (lt, lte, eq, neq alone) and every value_avg /
 *     value_percentile rule is decided when its window closes: windows
 *     start at the first signal and last `timespan`;
 *   - after an alert, alerts of the same rule and key are suppressed for
 *     the rule's `suppress` attribute (else options.default_suppress_ns);
 *     suppressed alerts are counted in the next alert's `suppressed`.
 *
 * Keys: "<correlation rule key>|<value 1>|<value 2>..." where the rule key
 * is the correlation rule's id, else name, else title, and the values are
 * the group-by values in the rule's group-by order; '|' and '\' inside
 * the parts are escaped with '\'. The same string is the changelog key.
 *
 * Threads: a set is immutable once compiled and may be shared; an engine
 * belongs to one thread at a time.
 */
#ifndef PARRY_WINDOW_CORRELATE_H
#define PARRY_WINDOW_CORRELATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parry/error.h"
#include "proto/parry.pb-c.h"
#include "sigma/sigma.h"

typedef struct parry_corr_set parry_corr_set_t;       /* compiled correlation rules */
typedef struct parry_corr_engine parry_corr_engine_t; /* windows: per-key state */

typedef struct {               /* what the engine's user may tune */
  int64_t allowed_lateness_ns; /* events older than (key's max event time - this) are
                                  counted as late and ignored; younger ones are
                                  reordered by event time (alerts wait this long,
                                  in the key's event time) */
  int64_t default_suppress_ns; /* suppression after an alert, per rule+group key, unless
                                  the rule says otherwise (custom attribute
                                  `suppress: <timespan>` at the top level of the
                                  correlation rule, see docs/correlation.md) */
  size_t memory_cap_bytes;     /* 0 = no cap; at the cap the oldest windows are evicted
                                  (least recently updated key first, approximately) */
  int64_t idle_expiry_ns;      /* keys without signals for this long (event time) expire;
                                  never less than the rule's timespan + lateness */
  size_t max_event_refs;       /* contributing event references kept per alert (the
                                  newest of the window). Memory: 25 bytes per
                                  reference with a 32-hex id (9 + id length
                                  otherwise), plus a 48-byte block per key that
                                  has any; 0 = none (see docs/correlation.md,
                                  "Memory") */
  int64_t idle_release_ns;     /* services only (0 = off, as offline): signals that
                                  have waited in a key's reorder buffer this long in
                                  wall-clock time, with no release since, are
                                  released at the next parry_corr_engine_tick, so a
                                  burst that simply stops still raises its alert.
                                  The key's lateness reference then moves past them:
                                  a signal older than the released ones is late. */
  /* Clocks for idle expiry: a key expires by the newest signal time of its
   * own clock, not of every key. Services use one per partition of the
   * signals topic, so that a partition whose event time lags the others
   * (a replay, a slow source) does not have its keys expired by theirs.
   * n_clocks 0 or 1, or clock_of NULL: one clock for all keys. */
  uint32_t n_clocks;
  uint32_t (*clock_of)(void *opaque, const char *key, size_t key_len); /* < n_clocks */
  void *clock_opaque;
} parry_corr_options_t;

/* Defaults: lateness 0, no suppression, no memory cap, idle expiry 1 h,
 * 10 event references (so an alert of a `gte: 10` rule lists every event
 * that made it; about 300 bytes per key on top of the window state when a
 * key holds 9 signals -- set 0 where memory matters more than alert detail). */
void parry_corr_options_default(parry_corr_options_t *o);

/* Compile the correlation rules of rs (parry_sigma_correlation_count/parry_sigma_correlation)
 * against its detection rules; rules that are wrong are rejected into report (file, line,
 * message), like detection rules. NULL + errstr only when nothing can proceed.
 * Rejections are appended to report (report->rejected, by_reason, rejections);
 * a correlation rule that references a rejected correlation rule is rejected
 * too. The set borrows from rs: rs must outlive it. */
parry_corr_set_t *parry_corr_compile(const parry_sigma_ruleset_t *rs,
                                     parry_sigma_report_t *report, char *errstr, size_t n);
void parry_corr_set_destroy(parry_corr_set_t *set);
/* Compiled (accepted) correlation rules. */
size_t parry_corr_set_count(const parry_corr_set_t *set);
/* Whether detection rule `rule_index` still raises its own alerts (Sigma `generate`):
 * true when no correlation rule references it, or when one that does says
 * `generate: true`. */
bool parry_corr_rule_generates(const parry_corr_set_t *set, uint32_t rule_index);
/* Whether any correlation rule uses detection rule `rule_index` (stage 1 can
 * skip parry_corr_signals otherwise). */
bool parry_corr_rule_used(const parry_corr_set_t *set, uint32_t rule_index);

/* Correlation rule i (0 <= i < count) as compiled: what callers need to
 * describe it. Pointers live as long as the set. */
typedef struct {
  const char *key;   /* id, else name, else title: alert rule.id, signal correlation_id */
  const char *title;
  const char *type;  /* "event_count", ... */
  const char *file;
  uint32_t line;
  int64_t timespan_ns;
  int64_t suppress_ns; /* -1: options.default_suppress_ns */
  bool generates;      /* raises its own alerts (not an intermediate rule
                          that an enclosing rule with generate: false uses) */
} parry_corr_rule_info_t;
const parry_corr_rule_info_t *parry_corr_rule_info(const parry_corr_set_t *set, size_t i);

/* Stage 1 side: detection rule `rule_index` matched ev; report one Signal per correlation
 * rule that uses it (group-by values, value field, timestamp filled). `key` is the
 * partition key for parry.signals: correlation id + group-by values, NUL-terminated.
 * Returns how many signals. Signals whose group-by fields are missing: see spec/docs.
 * (Here: a signal whose group-by field is absent or null, or -- for value_*
 * rules -- whose value field is, is not produced; see parry_corr_signals_ex.)
 * The signal's event is a reference (id and timestamp only). The signal and
 * key are valid only during the callback. */
typedef void (*parry_corr_signal_cb)(void *opaque, const Parry__V1__Signal *sig,
                                     const char *key);
size_t parry_corr_signals(const parry_corr_set_t *set, const parry_sigma_ruleset_t *rs,
                          uint32_t rule_index, const Parry__V1__Event *ev,
                          parry_corr_signal_cb cb, void *opaque);

/* The same, counting the signals left out (may be NULL). */
typedef struct {
  uint64_t missing_group_by; /* a group-by field absent or null */
  uint64_t missing_value;    /* value_* rules: value field absent (or not a number
                                for value_sum/avg/percentile) */
} parry_corr_signal_stats_t;
size_t parry_corr_signals_ex(const parry_corr_set_t *set, const parry_sigma_ruleset_t *rs,
                             uint32_t rule_index, const Parry__V1__Event *ev,
                             parry_corr_signal_cb cb, void *opaque,
                             parry_corr_signal_stats_t *stats);

/* Stage 2 side. Output goes through a sink: alerts, and every state change of a key as
 * (key, bytes) for the compacted changelog, bytes NULL = tombstone. */
typedef struct {
  void (*alert)(void *opaque, const Parry__V1__Alert *alert); /* valid during the call */
  void (*state)(void *opaque, const char *key, const uint8_t *bytes, size_t len);
  void *opaque;
  /* Added by corr-engine (may stay NULL): a chained correlation's signal
   * (an alert of correlation A, used by correlation B) for topics.signals
   * under B's key. NULL: fed back into this engine directly (offline). In a
   * fleet set it: B's key may belong to another replica. */
  void (*resignal)(void *opaque, const Parry__V1__Signal *sig, const char *key);
} parry_corr_sink_t;
parry_corr_engine_t *parry_corr_engine_new(const parry_corr_set_t *set,
                                           const parry_corr_options_t *opt);
void parry_corr_engine_destroy(parry_corr_engine_t *e);
/* Feed one signal (any order of keys; per key, arrival order matters only within the
 * allowed lateness). Alerts of chained correlations are fed back internally when they
 * share the key space, else reported as signals through `resignal` (may be NULL offline,
 * then handled internally). Errors (PARRY_ERR_INVALID): unknown correlation id,
 * unknown rule id for that correlation, no group-by labels matching the rule. */
parry_err_t parry_corr_engine_feed(parry_corr_engine_t *e, const Parry__V1__Signal *sig,
                                   const parry_corr_sink_t *sink, char *errstr, size_t n);
/* Restore one key from its changelog bytes (on partition assignment).
 * Corrupt or mismatching bytes (version, rule, sizes) give PARRY_ERR_INVALID
 * and leave the engine unchanged; never a crash. A later restore of the same
 * key replaces the earlier one. */
parry_err_t parry_corr_engine_restore(parry_corr_engine_t *e, const char *key,
                                      const uint8_t *bytes, size_t len, char *errstr, size_t n);
/* Forget keys for which drop(opaque, key) is true (partition revoked). No
 * tombstones: the state stays in the changelog for the new owner. */
void parry_corr_engine_drop(parry_corr_engine_t *e, bool (*drop)(void *opaque, const char *key),
                            void *opaque);
/* End of input (offline): close what is open and report alerts that only end-of-window
 * can decide (e.g. `lt` conditions), through sink. Keys are processed in key
 * order, so the output does not depend on the table's layout. */
void parry_corr_engine_finish(parry_corr_engine_t *e, const parry_corr_sink_t *sink);
/* Added: expire keys idle since before now_ns - idle expiry (the caller's
 * notion of event time, e.g. the newest event time it has seen): their
 * pending signals are released and their windows closed as finish does,
 * then they are dropped with a tombstone. feed() does this incrementally
 * (a few table slots per call) with the newest event time it has seen. */
void parry_corr_engine_expire(parry_corr_engine_t *e, int64_t now_ns,
                              const parry_corr_sink_t *sink);
/* Added: the service's clock (wall_ns, any monotonic clock). With
 * idle_release_ns set, releases the reorder buffer of every key whose
 * pending signals have waited at least idle_release_ns since they were
 * queued or since the key last released anything (measured from the first
 * tick that saw them, so the delay is idle_release_ns plus the tick
 * interval). Alerts, state and chained signals go through sink. Call it
 * every second or so, inside the transaction that carries its output. One
 * pass over the key table: about a millisecond per 100,000 keys. */
void parry_corr_engine_tick(parry_corr_engine_t *e, int64_t wall_ns,
                            const parry_corr_sink_t *sink);
typedef struct {
  uint64_t keys, bytes, updates, alerts, suppressed, late, evicted, expired;
  uint64_t released; /* reorder buffers released by parry_corr_engine_tick */
} parry_corr_stats_t;
void parry_corr_engine_stats(const parry_corr_engine_t *e, parry_corr_stats_t *out);

/* Added: the group-by values of a key (as produced by parry_corr_signals),
 * unescaped into out[] (pointers into buf); returns the number of values or
 * -1 when the key is malformed or buf too small. Part 0 is the rule key. */
int parry_corr_key_split(const char *key, char *buf, size_t buf_size, const char **out,
                         size_t max_out);

#endif
