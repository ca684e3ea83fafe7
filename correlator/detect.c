#include "detect.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

const char *parry_detect_rule_key(const parry_sigma_rule_info_t *rule) {
  if (rule->id && *rule->id) return rule->id;
  if (rule->name && *rule->name) return rule->name;
  return rule->title ? rule->title : "";
}

/* Two FNV-1a lanes with different bases and a final mix: 128 bits, stable
 * across builds and machines (not a security hash; ids only need to be
 * stable and practically collision-free). */
typedef struct {
  uint64_t a, b;
} h128_t;

static void feed(h128_t *h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h->a = (h->a ^ p[i]) * 0x100000001b3ULL;
    h->b = (h->b ^ p[i]) * 0x100000001b3ULL;
    h->b ^= h->b >> 29;
  }
}

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

void parry_detect_alert_id(const char *rule_key, const char *event_id, char *out) {
  h128_t h = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL};
  static const char tag[] = "parry.alert.v1";
  const char *parts[2] = {rule_key ? rule_key : "", event_id ? event_id : ""};
  feed(&h, tag, sizeof tag);
  for (int i = 0; i < 2; i++) {
    uint64_t n = strlen(parts[i]); /* length-prefixed: ("ab","c") != ("a","bc") */
    feed(&h, &n, sizeof n);
    feed(&h, parts[i], n);
  }
  uint64_t a = mix(h.a ^ mix(h.b)), b = mix(h.b + 0x9e3779b97f4a7c15ULL * a);
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++) {
    out[i] = hex[(a >> (60 - 4 * i)) & 15];
    out[16 + i] = hex[(b >> (60 - 4 * i)) & 15];
  }
  out[PARRY_ALERT_ID_LEN] = '\0';
}

/* The alert of a single-event rule on ev (see detect.h for its fields). */
static void report_alert(const parry_sigma_rule_info_t *rule, const Parry__V1__Event *ev,
                         parry_detect_alert_cb cb, void *opaque) {
  char id[PARRY_ALERT_ID_LEN + 1];
  const char *key = parry_detect_rule_key(rule);
  parry_detect_alert_id(key, ev->id, id);
  Parry__V1__Alert alert = PARRY__V1__ALERT__INIT;
  Parry__V1__Event *events[1] = {(Parry__V1__Event *)ev}; /* read only */
  alert.id = id;
  alert.timestamp_ns = ev->timestamp_ns;
  alert.rule_id = (char *)key;
  alert.rule_title = (char *)(rule->title ? rule->title : "");
  alert.rule_level = (char *)parry_sigma_level_str(rule->level);
  alert.n_rule_tags = rule->tags.n;
  alert.rule_tags = (char **)rule->tags.items;
  alert.rule_description = (char *)(rule->description ? rule->description : "");
  alert.count = 1;
  alert.n_events = 1;
  alert.events = events;
  cb(opaque, &alert);
}

size_t parry_detect_event_full(parry_sigma_matcher_t *m, const parry_sigma_ruleset_t *rs,
                               const parry_corr_set_t *corr, const Parry__V1__Event *ev,
                               parry_detect_alert_cb alert_cb, parry_corr_signal_cb signal_cb,
                               void *opaque, size_t *n_signals) {
  const parry_sigma_match_t *matches;
  size_t n = parry_sigma_match(m, ev, &matches), alerts = 0, signals = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t flags = matches[i].flags, r = matches[i].rule;
    if (flags & PARRY_SIGMA_MATCH_FILTERED) continue;
    bool own = !corr || parry_corr_rule_generates(corr, r);
    if (own && !(flags & PARRY_SIGMA_MATCH_BELOW_MIN_LEVEL)) {
      if (alert_cb) report_alert(parry_sigma_rule_info(rs, r), ev, alert_cb, opaque);
      alerts++;
    }
    if (corr && signal_cb && parry_corr_rule_used(corr, r))
      signals += parry_corr_signals(corr, rs, r, ev, signal_cb, opaque);
  }
  if (n_signals) *n_signals = signals;
  return alerts;
}

size_t parry_detect_event(parry_sigma_matcher_t *m, const parry_sigma_ruleset_t *rs,
                          const Parry__V1__Event *ev, parry_detect_alert_cb cb, void *opaque) {
  return parry_detect_event_full(m, rs, NULL, ev, cb, NULL, opaque, NULL);
}
