/* Detection: one normalized Event through a Sigma ruleset, each alerting
 * match made into an Alert (proto/parry.proto). Shared by `parry detect`
 * and, later, the correlator service.
 *
 * An alert of a single-event detection rule:
 *   id          32 hex digits, a hash of (rule id, event id): the same rule
 *               on the same event always gives the same alert id, so replays
 *               and retries deduplicate downstream
 *   @timestamp  the event's time
 *   rule        id (else name, else title), title, level, tags, description
 *   count       1
 *   events      [the full event]
 * Matches flagged below the minimum level or removed by a filter
 * (PARRY_SIGMA_MATCH_*) raise no alert.
 *
 * Correlation (Sigma correlation rules, correlator/window/correlate.h) starts
 * here too: parry_detect_event_full gives, for one event, both the alerts of
 * the detection rules that still raise their own (Sigma `generate`) and the
 * Signals of every correlation rule that uses a matching detection rule.
 * Signals are what stage 2 (the windows, parry_corr_engine_feed) counts;
 * `parry detect` feeds them to an engine in the same process, the fleet
 * publishes them on topics.signals keyed by the signal's key. */
#ifndef PARRY_DETECT_H
#define PARRY_DETECT_H

#include <stddef.h>

#include "proto/parry.pb-c.h"
#include "sigma/sigma.h"
#include "window/correlate.h"

#define PARRY_ALERT_ID_LEN 32

/* The rule's identity in alerts: its id, else its name, else its title. */
const char *parry_detect_rule_key(const parry_sigma_rule_info_t *rule);

/* out: PARRY_ALERT_ID_LEN hex digits and a NUL. */
void parry_detect_alert_id(const char *rule_key, const char *event_id, char *out);

/* Called once per alert; the alert (and the event it points at) is valid
 * only during the call: encode or copy it. */
typedef void (*parry_detect_alert_cb)(void *opaque, const Parry__V1__Alert *alert);

/* Match ev and report each alerting match to cb, in rule order. Returns the
 * number of alerts. Every detection rule alerts on its own here, whether or
 * not a correlation rule uses it: this is parry_detect_event_full with no
 * correlation set. */
size_t parry_detect_event(parry_sigma_matcher_t *m, const parry_sigma_ruleset_t *rs,
                          const Parry__V1__Event *ev, parry_detect_alert_cb cb, void *opaque);

/* Stage 1 in full: match ev once, then, match by match in rule order,
 *   - an alert to alert_cb (exactly as parry_detect_event builds it) when the
 *     rule alerts on its own: corr is NULL, or parry_corr_rule_generates says
 *     so (a detection rule that correlation rules use raises no alert of its
 *     own unless one of them says `generate: true`); never for matches below
 *     the minimum level or removed by a filter;
 *   - the Signals of parry_corr_signals to signal_cb (with their partition
 *     key), for every match a filter did not remove. A match below the
 *     minimum level still signals: the detection rule's level describes a
 *     single hit, the correlation rule has a level of its own, and callers
 *     apply the minimum level to correlation alerts instead.
 * For one match, its alert (if any) comes before its signals. corr NULL or
 * signal_cb NULL: no signals. alert_cb NULL: alerts are counted, not
 * reported. Everything passed to the callbacks is valid only during the call.
 * Returns the number of alerts; *n_signals (may be NULL) gets the number of
 * signals. Allocates nothing itself (parry_corr_signals may, per signal).
 *
 * Switching a caller from parry_detect_event: compile the set once with
 * parry_corr_compile(rs, ...) after loading the rules, pass it here, and
 * route signals to stage 2 (the engine offline, topics.signals in the fleet,
 * keyed by `key`). With a set that has no correlation rules the result is
 * the same as parry_detect_event's. */
size_t parry_detect_event_full(parry_sigma_matcher_t *m, const parry_sigma_ruleset_t *rs,
                               const parry_corr_set_t *corr, const Parry__V1__Event *ev,
                               parry_detect_alert_cb alert_cb, parry_corr_signal_cb signal_cb,
                               void *opaque, size_t *n_signals);

#endif
