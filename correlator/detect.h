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
 * (PARRY_SIGMA_MATCH_*) raise no alert. Correlation rules are not evaluated
 * here (correlator part 2). */
#ifndef PARRY_DETECT_H
#define PARRY_DETECT_H

#include <stddef.h>

#include "proto/parry.pb-c.h"
#include "sigma/sigma.h"

#define PARRY_ALERT_ID_LEN 32

/* The rule's identity in alerts: its id, else its name, else its title. */
const char *parry_detect_rule_key(const parry_sigma_rule_info_t *rule);

/* out: PARRY_ALERT_ID_LEN hex digits and a NUL. */
void parry_detect_alert_id(const char *rule_key, const char *event_id, char *out);

/* Called once per alert; the alert (and the event it points at) is valid
 * only during the call: encode or copy it. */
typedef void (*parry_detect_alert_cb)(void *opaque, const Parry__V1__Alert *alert);

/* Match ev and report each alerting match to cb, in rule order. Returns the
 * number of alerts. */
size_t parry_detect_event(parry_sigma_matcher_t *m, const parry_sigma_ruleset_t *rs,
                          const Parry__V1__Event *ev, parry_detect_alert_cb cb, void *opaque);

#endif
