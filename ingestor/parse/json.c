/* Generic JSON: any object becomes an Event as it is (keys that are ECS
 * paths fill the typed fields, everything else is kept), then the
 * configured mapping (ingestor.json.mapping) copies fields of the source's
 * own naming onto ECS fields, and the configured timestamp field gives
 * @timestamp. The last resort of auto-detection: it accepts any object. */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parry/codec.h"
#include "parry/mem.h"
#include "parser.h"

typedef struct {
  char *ecs;    /* target: one of the typed ECS paths */
  char *source; /* dotted path into the record */
} mapping_t;

typedef struct {
  mapping_t *map;
  size_t n;
  char *error; /* a bad mapping rejects every record, saying why */
} json_state_t;

/* Typed targets a mapping may write. */
static const char *const mappable[] = {
    "source.ip", "source.port", "destination.ip", "destination.port", "user.name",
    "host.name", "process.name", "process.pid", "process.command_line", "message",
    "event.action", "event.outcome", "event.kind", "event.dataset", "event.category",
    "event.type", NULL};

static void *state_new(const parry_parse_config_t *config) {
  json_state_t *st = parry_xnew(json_state_t, 1);
  const char *spec = config->json_mapping ? config->json_mapping : "";
  char *copy = parry_xstrdup(spec), *save = NULL;
  for (char *pair = strtok_r(copy, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
    while (*pair == ' ') pair++;
    if (!*pair) continue;
    char *eq = strchr(pair, '=');
    bool known = false;
    if (eq) {
      *eq = '\0';
      for (int i = 0; mappable[i]; i++) known |= strcmp(mappable[i], pair) == 0;
    }
    if (!eq || !known || !eq[1]) {
      char why[300];
      snprintf(why, sizeof why,
               "ingestor.json.mapping: \"%s\" is not ECS=SOURCE with ECS one of source.ip, "
               "source.port, destination.ip, destination.port, user.name, host.name, "
               "process.*, message, event.*",
               pair);
      free(st->error);
      st->error = parry_xstrdup(why);
      break;
    }
    st->map = parry_xreallocarray(st->map, st->n + 1, sizeof *st->map);
    st->map[st->n++] = (mapping_t){parry_xstrdup(pair), parry_xstrdup(eq + 1)};
  }
  free(copy);
  return st;
}

static void state_free(void *opaque) {
  json_state_t *st = opaque;
  for (size_t i = 0; i < st->n; i++) {
    free(st->map[i].ecs);
    free(st->map[i].source);
  }
  free(st->map);
  free(st->error);
  free(st);
}

static bool detect_json(json_object *obj) { return json_object_is_type(obj, json_type_object); }

static void replace(char **field, const char *text) {
  if (*field && *field != protobuf_c_empty_string) free(*field);
  *field = parry_xstrdup(text);
}

static void append(char ***list, size_t *n, const char *text) {
  *list = parry_xreallocarray(*list, *n + 1, sizeof **list);
  (*list)[(*n)++] = parry_xstrdup(text);
}

/* Copy one mapped value onto its typed field; false (with why) if the value
 * does not fit the field. */
static bool apply_mapping(Parry__V1__Event *ev, const mapping_t *m, char *why, size_t why_size) {
  parry_field_t f;
  if (parry_event_get(ev, m->source, &f) == PARRY_FIELD_ABSENT) return true;
  char buf[PARRY_FIELD_TEXT_MAX];
  size_t len;
  const char *text = parry_field_text(&f, buf, sizeof buf, &len);
  if (!text) {
    snprintf(why, why_size, "%s (mapped to %s) is not a single value", m->source, m->ecs);
    return false;
  }
  char *value = parry_xstrndup(text, len);
  bool ok = true;
  const char *e = m->ecs;
  if (strcmp(e, "source.ip") == 0 || strcmp(e, "destination.ip") == 0) {
    unsigned char bin[16];
    if (inet_pton(AF_INET, value, bin) == 1 || inet_pton(AF_INET6, value, bin) == 1)
      replace(e[0] == 's' ? &ev->source_ip : &ev->destination_ip, value);
    else {
      snprintf(why, why_size, "%s (mapped to %s) is not an IP address: \"%.64s\"", m->source, e,
               value);
      ok = false;
    }
  } else if (strcmp(e, "source.port") == 0 || strcmp(e, "destination.port") == 0) {
    char *end;
    long port = strtol(value, &end, 10);
    if (*value && !*end && port > 0 && port <= 65535)
      *(e[0] == 's' ? &ev->source_port : &ev->destination_port) = (uint32_t)port;
    else {
      snprintf(why, why_size, "%s (mapped to %s) is not a port: \"%.64s\"", m->source, e, value);
      ok = false;
    }
  } else if (strcmp(e, "process.pid") == 0) {
    char *end;
    long long pid = strtoll(value, &end, 10);
    if (*value && !*end) {
      ev->process_pid = pid;
      ev->has_process_pid = 1;
    } else {
      snprintf(why, why_size, "%s (mapped to %s) is not an integer", m->source, e);
      ok = false;
    }
  } else if (strcmp(e, "event.category") == 0) {
    append(&ev->event_category, &ev->n_event_category, value);
  } else if (strcmp(e, "event.type") == 0) {
    append(&ev->event_type, &ev->n_event_type, value);
  } else {
    char **target = strcmp(e, "user.name") == 0            ? &ev->user_name
                    : strcmp(e, "host.name") == 0          ? &ev->host_name
                    : strcmp(e, "process.name") == 0       ? &ev->process_name
                    : strcmp(e, "process.command_line") == 0 ? &ev->process_command_line
                    : strcmp(e, "message") == 0            ? &ev->message
                    : strcmp(e, "event.action") == 0       ? &ev->event_action
                    : strcmp(e, "event.outcome") == 0      ? &ev->event_outcome
                    : strcmp(e, "event.kind") == 0         ? &ev->event_kind
                                                           : &ev->event_dataset;
    replace(target, value);
  }
  free(value);
  return ok;
}

/* @timestamp from the configured field: RFC 3339 text or epoch seconds. */
static void apply_timestamp(Parry__V1__Event *ev, const char *field) {
  if (ev->has_timestamp || !field || !*field) return;
  parry_field_t f;
  if (parry_event_get(ev, field, &f) != PARRY_FIELD_VALUE) return;
  const Parry__V1__Value *v = f.value;
  int64_t ns;
  if (v->kind_case == PARRY__V1__VALUE__KIND_STRING_VALUE &&
      parry_time_parse_rfc3339(v->string_value, strlen(v->string_value), &ns) == PARRY_OK) {
    ev->timestamp_ns = ns;
    ev->has_timestamp = 1;
  } else if (v->kind_case == PARRY__V1__VALUE__KIND_INT_VALUE && v->int_value >= 0 &&
             v->int_value < 9000000000LL) {
    ev->timestamp_ns = v->int_value * PARRY_NS_PER_SEC;
    ev->has_timestamp = 1;
  } else if (v->kind_case == PARRY__V1__VALUE__KIND_DOUBLE_VALUE && v->double_value >= 0 &&
             v->double_value < 9e9) {
    ev->timestamp_ns = (int64_t)llround(v->double_value * 1e9);
    ev->has_timestamp = 1;
  }
}

static parry_err_t parse_json(parry_parse_t *p, json_object *obj, char *errstr,
                              size_t errstr_size) {
  json_state_t *st = p->stream_state;
  if (st->error) return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", st->error);
  Parry__V1__Event *ev = NULL;
  parry_err_t err = parry_event_from_json_object(obj, &ev, errstr, errstr_size);
  if (err) return err;
  char why[256];
  for (size_t i = 0; i < st->n; i++) {
    if (!apply_mapping(ev, &st->map[i], why, sizeof why)) {
      parry__v1__event__free_unpacked(ev, NULL);
      return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID, "%s", why);
    }
  }
  apply_timestamp(ev, p->config->json_timestamp_field);
  parry_parse_emit_owned(p, ev);
  return PARRY_OK;
}

const parry_parser_t parry_parser_json = {
    .name = "json",
    .summary = "any JSON object; ECS keys are used as they are, others kept, "
               "ingestor.json.mapping maps the rest",
    .detect_json = detect_json,
    .parse_json = parse_json,
    .stream_new = state_new,
    .stream_free = state_free,
};
