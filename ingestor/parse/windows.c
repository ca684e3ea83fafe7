/* Windows Security, Sysmon and other event log events, as JSON (three
 * shapes) or as one-line XML.
 *
 * Shapes recognised
 * -----------------
 * 1. EVTX as JSON, the way evtx_dump and python-evtx write it (the
 *    evtx-samples corpus, SigmaHQ regression data):
 *      {"Event": {"System": {...}, "EventData": {...}, "UserData": {...}}}
 *    System members are plain values or elements with attributes, written
 *    {"#attributes": {...}, "#text": v} (or xmltodict's {"@Name": ..}).
 *    EventID is an integer, a string, or {"#attributes": {"Qualifiers":
 *    ..}, "#text": 4624}. EventData is a plain map, or {"Data": [{
 *    "#attributes": {"Name": "X"}, "#text": "v"}, ...]}, or {"Data": "v"}
 *    for events whose data has no names.
 * 2. Winlogbeat / ECS: {"@timestamp", "event": {"code"}, "winlog":
 *    {"event_id", "channel", "provider_name", "computer_name",
 *    "event_data": {...}}, "host", ...}.
 * 3. The flattened form of OTRF's Security Datasets (nxlog, Logstash):
 *    {"EventID": 4624, "Channel": "Security", "Hostname": ..,
 *    "TargetUserName": .., ...} at the top level.
 * 4. A text record holding one <Event xmlns=...>...</Event> element: the
 *    XML rendering Windows Event Forwarding, nxlog's to_xml and CrowdSec's
 *    wineventlog acquisition produce, one event per record.
 *
 * Fields set
 * ----------
 * Vendor fields first, at the top level under their Windows names, the same
 * in every shape so that one Sigma rule matches them all:
 *   - System: EventID (always an integer; a record without one, or with one
 *     that is not an integer, is rejected naming it), Channel, Computer,
 *     Version, Level, Task, Opcode, Keywords, EventRecordID; attributes as
 *     Element_Attribute (Provider_Name, Provider_Guid, Execution_ProcessID,
 *     Security_UserID, Correlation_ActivityID, EventID_Qualifiers), except
 *     TimeCreated's SystemTime, which is just TimeCreated (as in the
 *     flattened shape). Version, Level, Task, Opcode, EventRecordID and the
 *     Execution ids are integers when they are digits, whatever the shape
 *     wrote, so JSON and XML renderings of one event agree.
 *   - EventData and UserData items by their Name (Data items without a
 *     name are kept as the list "Data"), values as the source wrote them.
 *     An item named like a System field keeps its value under
 *     "EventData.<Name>" so it cannot replace the System one.
 *   - Flattened records keep every key; "Hostname" also gives Computer and
 *     "SourceName" Provider_Name when those are absent, because Sigma rules
 *     use the Windows names. Logstash's "@timestamp" (the time the event was
 *     shipped) becomes event.ingested when the record has its own time.
 *   - Winlogbeat keeps its document (its ECS fields go to their typed
 *     places), moves winlog.event_data and winlog.user_data to the top level
 *     and adds EventID, Channel, Computer, Provider_Name, EventRecordID from
 *     winlog.* -- the names Sigma rules use.
 *   - A vendor key named like a typed ECS object ("host" in OTRF, "process"
 *     in OpenSSH's EventData) is kept as "winlog.<key>" (see vendor.h).
 * Then ECS, filled only where the shape did not already (Winlogbeat):
 *   @timestamp from TimeCreated, else Sysmon's UtcTime; host.name from
 *   Computer; event.code (the EventID as text), event.provider, event.kind
 *   "event", event.dataset "windows.<service>";
 *   logon events (4624 4625 4634 4647 4648 4740 4768 4771 4776):
 *   event.category authentication, event.type start/end/change,
 *   event.outcome (4776 and 4768 by their Status), event.action with
 *   Winlogbeat's names (logged-in, logon-failed, ...), user.name and
 *   user.domain from TargetUserName/TargetDomainName, source.ip from
 *   IpAddress (loopback kept, "-" dropped), source.port from IpPort (0 and
 *   "-" dropped), source.domain from WorkstationName;
 *   other events: user.name from Sysmon's User ("DOMAIN\name" split) or
 *   SubjectUserName; process.executable/name/pid/command_line and
 *   process.parent.* from Image/ProcessId/CommandLine/ParentImage/... (Sysmon)
 *   or NewProcessName/NewProcessId/ParentProcessName/ProcessId (4688, where
 *   ProcessId is the creator); source/destination ip and port from Sysmon's
 *   SourceIp/DestinationIp and WFP's SourceAddress/DestAddress.
 *
 * Logsource (the Sigma taxonomy appendix)
 * ----------------------------------------
 * product windows; service from the Channel (case-insensitive: OTRF writes
 * "security"), e.g. Security -> security, Microsoft-Windows-Sysmon/Operational
 * -> sysmon, Windows PowerShell -> powershell-classic; unknown channels get no
 * service rather than a guessed one. category from the Channel and EventID:
 * Sysmon 1 process_creation, 3 network_connection, 12 registry_add or
 * registry_delete (by EventType), 13 registry_set, ... (the full table is
 * below), Security 4688 process_creation, PowerShell 4103 ps_module / 4104
 * ps_script, classic PowerShell 400/600/800. Sysmon is also recognised by its
 * provider when the channel is missing. The taxonomy's umbrella category
 * registry_event (12, 13 and 14) is not set: an event carries its specific
 * category, and a rule on registry_event must match the three.
 *
 * Detection is cheap: three member lookups in the decoded object for JSON,
 * a prefix test ("<Event") for text.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parry/codec.h"
#include "parser.h"
#include "vendor.h"

/* A typed string of an Event: unset when NULL or "" (protobuf-c's
 * initializer points them at an empty string). */
static bool unset(const char *s) { return !s || !*s; }

#define NS "winlog"
#define XML_MAX_DEPTH 32

/* ---- collected fields ------------------------------------------------ */

/* The vendor fields the ECS step reads, found in one pass over the top
 * level once a shape has written it. */
enum {
  F_CHANNEL,
  F_COMPUTER,
  F_PROVIDER,
  F_TIMECREATED,
  F_UTCTIME,
  F_TARGETUSER,
  F_TARGETDOMAIN,
  F_SUBJECTUSER,
  F_SUBJECTDOMAIN,
  F_USER,
  F_IPADDRESS,
  F_IPPORT,
  F_WORKSTATION,
  F_STATUS,
  F_IMAGE,
  F_NEWPROCESSNAME,
  F_PROCESSNAME,
  F_COMMANDLINE,
  F_PROCESSID,
  F_NEWPROCESSID,
  F_PARENTIMAGE,
  F_PARENTPROCESSNAME,
  F_PARENTCOMMANDLINE,
  F_PARENTPROCESSID,
  F_SOURCEIP,
  F_SOURCEPORT,
  F_DESTIP,
  F_DESTPORT,
  F_SOURCEADDRESS,
  F_DESTADDRESS,
  F_EVENTTYPE,
  N_FIELDS
};

static const struct {
  const char *name;
  size_t len;
} wanted[N_FIELDS] = {
#define W(f, s) [f] = {s, sizeof s - 1}
    W(F_CHANNEL, "Channel"),
    W(F_COMPUTER, "Computer"),
    W(F_PROVIDER, "Provider_Name"),
    W(F_TIMECREATED, "TimeCreated"),
    W(F_UTCTIME, "UtcTime"),
    W(F_TARGETUSER, "TargetUserName"),
    W(F_TARGETDOMAIN, "TargetDomainName"),
    W(F_SUBJECTUSER, "SubjectUserName"),
    W(F_SUBJECTDOMAIN, "SubjectDomainName"),
    W(F_USER, "User"),
    W(F_IPADDRESS, "IpAddress"),
    W(F_IPPORT, "IpPort"),
    W(F_WORKSTATION, "WorkstationName"),
    W(F_STATUS, "Status"),
    W(F_IMAGE, "Image"),
    W(F_NEWPROCESSNAME, "NewProcessName"),
    W(F_PROCESSNAME, "ProcessName"),
    W(F_COMMANDLINE, "CommandLine"),
    W(F_PROCESSID, "ProcessId"),
    W(F_NEWPROCESSID, "NewProcessId"),
    W(F_PARENTIMAGE, "ParentImage"),
    W(F_PARENTPROCESSNAME, "ParentProcessName"),
    W(F_PARENTCOMMANDLINE, "ParentCommandLine"),
    W(F_PARENTPROCESSID, "ParentProcessId"),
    W(F_SOURCEIP, "SourceIp"),
    W(F_SOURCEPORT, "SourcePort"),
    W(F_DESTIP, "DestinationIp"),
    W(F_DESTPORT, "DestinationPort"),
    W(F_SOURCEADDRESS, "SourceAddress"),
    W(F_DESTADDRESS, "DestAddress"),
    W(F_EVENTTYPE, "EventType"),
#undef W
};

typedef struct {
  parry_evb_t b;
  Parry__V1__ValueMap *top; /* the top level of fields */
  size_t n_system;          /* entries written from System (they win) */
  size_t *system_len;       /* their key lengths */
  bool data_written;        /* some EventData/UserData item is at the top */
  bool have_event_id;
  int64_t event_id;
  const Parry__V1__Value *f[N_FIELDS];
  json_object *ingested; /* Logstash's @timestamp in the flattened shape */
  char *errstr;
  size_t errstr_size;
} win_t;

static parry_err_t fail(win_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static parry_err_t fail(win_t *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (w->errstr && w->errstr_size) vsnprintf(w->errstr, w->errstr_size, fmt, ap);
  va_end(ap);
  return PARRY_ERR_INVALID;
}

static void win_init(win_t *w, parry_parse_t *p, char *errstr, size_t errstr_size) {
  memset(w, 0, sizeof *w);
  parry_evb_init(&w->b, p->arena);
  w->top = parry_evb_map_at(&w->b, "");
  w->errstr = errstr;
  w->errstr_size = errstr_size;
}

/* System values Windows defines as numbers: integers in every shape. */
static bool numeric_system(const char *name, size_t len) {
  static const char *const names[] = {"Version", "Level", "Task", "Opcode", "EventRecordID",
                                      "Execution_ProcessID", "Execution_ThreadID"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) return true;
  return false;
}

static bool all_digits(const char *s, size_t len) {
  if (len == 0 || len > 18) return false;
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

/* A text value for a top-level field named `name`: an integer for the
 * numeric System names when it is all digits, else the text. */
static void put_text(win_t *w, Parry__V1__Value *v, const char *name, size_t nlen, const char *s,
                     size_t len) {
  uint64_t u;
  if (numeric_system(name, nlen) && all_digits(s, len) && parry_vendor_uint(s, len, &u))
    parry_vendor_int(v, (int64_t)u);
  else
    parry_evb_value_str(&w->b, v, s, len);
}

/* ---- EventID ---------------------------------------------------------- */

static parry_err_t event_id_text(win_t *w, const char *s, size_t len) {
  uint64_t u;
  char q[72];
  size_t a = 0, z = len;
  while (a < z && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r')) a++;
  while (z > a && (s[z - 1] == ' ' || s[z - 1] == '\t' || s[z - 1] == '\n' || s[z - 1] == '\r'))
    z--;
  if (!all_digits(s + a, z - a) || !parry_vendor_uint(s + a, z - a, &u))
    return fail(w, "EventID is not an integer: %s", parry_vendor_quote(q, s, len));
  w->event_id = (int64_t)u;
  w->have_event_id = true;
  return PARRY_OK;
}

static parry_err_t event_id_json(win_t *w, json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_int: {
    int64_t i = json_object_get_int64(v);
    if (i < 0 || (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX))
      return fail(w, "EventID is out of range: %s", json_object_get_string(v));
    w->event_id = i;
    w->have_event_id = true;
    return PARRY_OK;
  }
  case json_type_string:
    return event_id_text(w, json_object_get_string(v), (size_t)json_object_get_string_len(v));
  case json_type_double: {
    char q[72];
    const char *t = json_object_get_string(v);
    return fail(w, "EventID is not an integer: %s", parry_vendor_quote(q, t, strlen(t)));
  }
  case json_type_null: return fail(w, "EventID is null");
  default: return fail(w, "EventID is not an integer: %s", json_type_to_name(json_object_get_type(v)));
  }
}

static void put_event_id(win_t *w) {
  parry_vendor_int(parry_vendor_put(&w->b, w->top, "EventID", 7), w->event_id);
}

/* ---- writing vendor fields -------------------------------------------- */

/* A System member, attribute or text: it owns its name. */
static Parry__V1__Value *system_slot(win_t *w, const char *name, size_t len) {
  return parry_vendor_top(&w->b, NS, name, len);
}

/* Call once System is written: its names are then reserved. */
static void system_done(win_t *w) {
  w->n_system = w->top->n_entries;
  w->system_len = parry_arena_alloc(w->b.arena, (w->n_system + 1) * sizeof *w->system_len);
  for (size_t i = 0; i < w->n_system; i++) w->system_len[i] = strlen(w->top->entries[i]->key);
}

/* An EventData / UserData item: a System name is not replaced (the item
 * goes to "EventData.<Name>", as does one named EventData), and a name
 * seen before (Data items may repeat one) is. `distinct`: the caller knows
 * no other item has this name (members of the first JSON object written),
 * so the entry is appended without a search. */
static Parry__V1__Value *data_item(win_t *w, const char *name, size_t len, bool distinct) {
  bool nested = len == 9 && memcmp(name, "EventData", 9) == 0; /* where collisions go */
  for (size_t i = 0; i < w->n_system && !nested; i++)
    nested = w->system_len[i] == len && memcmp(w->top->entries[i]->key, name, len) == 0;
  if (nested) return parry_vendor_put(&w->b, parry_evb_map_at(&w->b, "EventData"), name, len);
  if (distinct && !parry_vendor_reserved(name, len))
    return parry_vendor_append(&w->b, w->top, name, len);
  return parry_vendor_top(&w->b, NS, name, len);
}

static Parry__V1__Value *data_slot(win_t *w, const char *name, size_t len) {
  return data_item(w, name, len, false);
}

static bool data_json(win_t *w, const char *name, size_t len, json_object *v) {
  return parry_vendor_value(&w->b, data_slot(w, name, len), v, 2);
}

/* The name an attribute of System element `elem` is kept under. */
static size_t attr_key(char *out, size_t size, const char *elem, size_t elen, const char *attr,
                       size_t alen) {
  if (elen == 11 && memcmp(elem, "TimeCreated", 11) == 0 && alen == 10 &&
      memcmp(attr, "SystemTime", 10) == 0) {
    memcpy(out, "TimeCreated", 11);
    return 11;
  }
  if (elen > size / 2) elen = size / 2; /* absurd names are cut, not overflowed */
  if (alen > size - 2 - elen) alen = size - 2 - elen;
  memcpy(out, elem, elen);
  out[elen] = '_';
  memcpy(out + elen + 1, attr, alen);
  return elen + 1 + alen;
}

/* The "#attributes" of an element (or NULL); xmltodict writes "@Name"
 * members instead, which callers pick up themselves. */
static json_object *attributes(json_object *o) {
  json_object *a = NULL;
  if (json_object_object_get_ex(o, "#attributes", &a) && json_object_is_type(a, json_type_object))
    return a;
  return NULL;
}

static bool system_attr_json(win_t *w, const char *elem, const char *attr, json_object *v) {
  /* an empty attribute says nothing (EventID Qualifiers="" from XML) */
  if (!v || (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0))
    return true;
  char key[256];
  size_t n = attr_key(key, sizeof key, elem, strlen(elem), attr, strlen(attr));
  if (json_object_is_type(v, json_type_string)) {
    put_text(w, system_slot(w, key, n), key, n, json_object_get_string(v),
             (size_t)json_object_get_string_len(v));
    return true;
  }
  return parry_vendor_value(&w->b, system_slot(w, key, n), v, 2);
}

static bool system_value_json(win_t *w, const char *name, json_object *v) {
  size_t n = strlen(name);
  if (json_object_is_type(v, json_type_string)) {
    put_text(w, system_slot(w, name, n), name, n, json_object_get_string(v),
             (size_t)json_object_get_string_len(v));
    return true;
  }
  return parry_vendor_value(&w->b, system_slot(w, name, n), v, 2);
}

static parry_err_t too_deep(win_t *w, const char *where) {
  return fail(w, "%s nests deeper than %d levels", where, PARRY_CODEC_MAX_DEPTH);
}

/* How many fields a JSON value may spread into the top level. */
static size_t width(json_object *o) {
  if (json_object_is_type(o, json_type_object)) return (size_t)json_object_object_length(o);
  if (json_object_is_type(o, json_type_array)) return json_object_array_length(o);
  return 1;
}

/* The fields EventData or UserData may yield: their members and the
 * members' members (Data items, UserData's inner element). */
static size_t spread(json_object *o) {
  size_t n = width(o);
  if (!json_object_is_type(o, json_type_object)) return n;
  struct json_object_iterator it = json_object_iter_begin(o), end = json_object_iter_end(o);
  for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
    n += width(json_object_iter_peek_value(&it));
  return n;
}

static parry_err_t too_wide(win_t *w, size_t n) {
  return fail(w, "the event has %zu fields, more than %d", n, PARRY_VENDOR_MAX_FIELDS);
}

/* ---- shape 1: {"Event": {"System", "EventData", "UserData"}} ------------ */

static parry_err_t evtx_system(win_t *w, json_object *sys) {
  parry_err_t err;
  json_object_object_foreach(sys, name, val) {
    if (!val) continue; /* an empty element says nothing */
    json_object *text = NULL, *attrs = NULL;
    bool element = json_object_is_type(val, json_type_object);
    if (element) {
      json_object_object_get_ex(val, "#text", &text);
      attrs = attributes(val);
    }
    if (strcmp(name, "EventID") == 0) {
      if (element && !text) return fail(w, "EventID has no value");
      err = event_id_json(w, element ? text : val);
      if (err) return err;
      put_event_id(w);
    } else if (!element) {
      if (!system_value_json(w, name, val)) return too_deep(w, name);
      continue;
    } else if (text && !system_value_json(w, name, text)) {
      return too_deep(w, name);
    }
    if (!element) continue;
    bool any = text != NULL;
    if (attrs) {
      json_object_object_foreach(attrs, an, av) {
        if (!system_attr_json(w, name, an, av)) return too_deep(w, name);
        any = true;
      }
    }
    json_object_object_foreach(val, k, v) {
      if (k[0] == '@' && k[1]) {
        if (!system_attr_json(w, name, k + 1, v)) return too_deep(w, name);
        any = true;
      }
    }
    /* a nested element without attributes or text: kept as it is */
    if (!any && json_object_object_length(val) > 0 && !system_value_json(w, name, val))
      return too_deep(w, name);
  }
  if (!w->have_event_id) return fail(w, "Event.System has no EventID");
  system_done(w);
  return PARRY_OK;
}

/* The Name of a Data item: {"#attributes": {"Name": ..}} or {"@Name": ..}. */
static const char *item_name(json_object *item, size_t *len) {
  json_object *a = attributes(item), *n = NULL;
  if ((a && json_object_object_get_ex(a, "Name", &n)) ||
      json_object_object_get_ex(item, "@Name", &n)) {
    if (json_object_is_type(n, json_type_string)) {
      *len = (size_t)json_object_get_string_len(n);
      return json_object_get_string(n);
    }
  }
  return NULL;
}

static parry_err_t evtx_data_items(win_t *w, json_object *data) {
  Parry__V1__Value *unnamed = NULL;
  bool array = json_object_is_type(data, json_type_array);
  size_t n = array ? json_object_array_length(data) : 1;
  for (size_t i = 0; i < n; i++) {
    json_object *item = array ? json_object_array_get_idx(data, i) : data;
    size_t nlen = 0;
    const char *name = json_object_is_type(item, json_type_object) ? item_name(item, &nlen) : NULL;
    json_object *text = NULL;
    bool has_text = json_object_is_type(item, json_type_object) &&
                    json_object_object_get_ex(item, "#text", &text);
    if (name) {
      if (!data_json(w, name, nlen, has_text ? text : NULL)) return too_deep(w, "EventData");
      continue;
    }
    if (!unnamed) unnamed = data_slot(w, "Data", 4);
    if (!parry_vendor_value(&w->b, parry_evb_list_append(&w->b, unnamed), has_text ? text : item,
                            3))
      return too_deep(w, "EventData");
  }
  return PARRY_OK;
}

static parry_err_t evtx_event_data(win_t *w, json_object *ed) {
  if (!ed) return PARRY_OK;
  if (!json_object_is_type(ed, json_type_object))
    return data_json(w, "Data", 4, ed) ? PARRY_OK : too_deep(w, "EventData");
  /* the members of the first object written are distinct names, except
   * "Data" (its items bring names of their own) and "#text" (kept as Data) */
  bool first = !w->data_written && !json_object_object_get_ex(ed, "Data", NULL) &&
               !json_object_object_get_ex(ed, "#text", NULL);
  w->data_written = true;
  json_object_object_foreach(ed, key, val) {
    if (strcmp(key, "#attributes") == 0 || key[0] == '@') continue;
    if (strcmp(key, "Data") == 0 &&
        (json_object_is_type(val, json_type_array) || json_object_is_type(val, json_type_object))) {
      parry_err_t err = evtx_data_items(w, val);
      if (err) return err;
    } else if (strcmp(key, "#text") == 0 || strcmp(key, "Data") == 0) {
      if (!data_json(w, "Data", 4, val)) return too_deep(w, "EventData");
    } else if (!parry_vendor_value(&w->b, data_item(w, key, strlen(key), first), val, 2)) {
      return too_deep(w, "EventData");
    }
  }
  return PARRY_OK;
}

/* UserData holds one element named after the event (LogFileCleared, ...)
 * whose children are the fields. */
static parry_err_t evtx_user_data(win_t *w, json_object *ud) {
  w->data_written = true;
  if (!json_object_is_type(ud, json_type_object))
    return ud && !data_json(w, "UserData", 8, ud) ? too_deep(w, "UserData") : PARRY_OK;
  json_object_object_foreach(ud, name, val) {
    if (strcmp(name, "#attributes") == 0 || name[0] == '@') continue;
    if (!json_object_is_type(val, json_type_object)) {
      if (!data_json(w, name, strlen(name), val)) return too_deep(w, "UserData");
      continue;
    }
    json_object_object_foreach(val, k, v) {
      if (strcmp(k, "#attributes") == 0 || k[0] == '@') continue;
      if (!data_json(w, k, strlen(k), v)) return too_deep(w, "UserData");
    }
  }
  return PARRY_OK;
}

static parry_err_t shape_evtx(win_t *w, json_object *event) {
  json_object *sys = NULL;
  if (!json_object_is_type(event, json_type_object)) return fail(w, "Event is not an object");
  if (!json_object_object_get_ex(event, "System", &sys) || !sys)
    return fail(w, "Event has no System");
  if (!json_object_is_type(sys, json_type_object)) return fail(w, "Event.System is not an object");
  json_object *ed = NULL, *ud = NULL;
  json_object_object_get_ex(event, "EventData", &ed);
  json_object_object_get_ex(event, "UserData", &ud);
  size_t n = width(event) + width(sys) + spread(ed) + spread(ud);
  if (n > PARRY_VENDOR_MAX_FIELDS) return too_wide(w, n);
  parry_err_t err = evtx_system(w, sys);
  if (err) return err;
  json_object_object_foreach(event, key, val) {
    if (strcmp(key, "System") == 0 || strcmp(key, "#attributes") == 0 || key[0] == '@') continue;
    if (strcmp(key, "EventData") == 0)
      err = evtx_event_data(w, val);
    else if (strcmp(key, "UserData") == 0)
      err = evtx_user_data(w, val);
    else if (!parry_vendor_top_json(&w->b, NS, key, strlen(key), val))
      err = too_deep(w, key);
    if (err) return err;
  }
  return PARRY_OK;
}

/* ---- shape 3: flattened (OTRF, nxlog) ----------------------------------- */

static parry_err_t shape_flat(win_t *w, json_object *obj) {
  json_object *eid = NULL;
  if (width(obj) > PARRY_VENDOR_MAX_FIELDS) return too_wide(w, width(obj));
  if (!json_object_object_get_ex(obj, "EventID", &eid)) return fail(w, "no EventID");
  parry_err_t err = event_id_json(w, eid);
  if (err) return err;
  put_event_id(w);
  json_object *host = NULL, *computer = NULL, *srcname = NULL, *provider = NULL;
  json_object_object_foreach(obj, key, val) {
    size_t len = strlen(key);
    if (strcmp(key, "EventID") == 0) continue;
    if (strcmp(key, "@timestamp") == 0) {
      w->ingested = val;
      continue;
    }
    if (strcmp(key, "Hostname") == 0) host = val;
    if (strcmp(key, "Computer") == 0) computer = val;
    if (strcmp(key, "SourceName") == 0) srcname = val;
    if (strcmp(key, "Provider_Name") == 0) provider = val;
    if (json_object_is_type(val, json_type_string) && numeric_system(key, len)) {
      put_text(w, parry_vendor_top(&w->b, NS, key, len), key, len, json_object_get_string(val),
               (size_t)json_object_get_string_len(val));
      continue;
    }
    if (!parry_vendor_top_json(&w->b, NS, key, len, val)) return too_deep(w, key);
  }
  if (host && !computer && !parry_vendor_top_json(&w->b, NS, "Computer", 8, host))
    return too_deep(w, "Hostname");
  if (srcname && !provider && !parry_vendor_top_json(&w->b, NS, "Provider_Name", 13, srcname))
    return too_deep(w, "SourceName");
  return PARRY_OK;
}

/* ---- shape 2: Winlogbeat ------------------------------------------------ */

static void copy_value(parry_evb_t *b, Parry__V1__Value *dst, const Parry__V1__Value *src) {
  switch (src->kind_case) {
  case PARRY__V1__VALUE__KIND_STRING_VALUE:
    parry_evb_value_str(b, dst, src->string_value, strlen(src->string_value));
    return;
  case PARRY__V1__VALUE__KIND_NUMBER_TEXT:
    dst->kind_case = src->kind_case;
    dst->number_text = parry_arena_strdup(b->arena, src->number_text);
    return;
  case PARRY__V1__VALUE__KIND_LIST_VALUE: {
    static const Parry__V1__ValueList empty = PARRY__V1__VALUE_LIST__INIT;
    dst->kind_case = PARRY__V1__VALUE__KIND_LIST_VALUE;
    dst->list_value = parry_arena_alloc(b->arena, sizeof *dst->list_value);
    *dst->list_value = empty;
    for (size_t i = 0; src->list_value && i < src->list_value->n_items; i++)
      copy_value(b, parry_evb_list_append(b, dst), src->list_value->items[i]);
    return;
  }
  case PARRY__V1__VALUE__KIND_MAP_VALUE: {
    Parry__V1__ValueMap *m = parry_evb_value_map(b, dst);
    for (size_t i = 0; src->map_value && i < src->map_value->n_entries; i++) {
      const Parry__V1__Entry *e = src->map_value->entries[i];
      copy_value(b, parry_evb_map_put(b, m, e->key, strlen(e->key)), e->value);
    }
    return;
  }
  default: *dst = *src; return; /* null, bool, int, double */
  }
}

static char *dup(parry_evb_t *b, const char *s) {
  return s && *s ? parry_evb_text(b, s, strlen(s)) : NULL;
}

/* The malloc'd Event the codec read, into the record's arena. */
static void copy_event(win_t *w, const Parry__V1__Event *ev) {
  parry_evb_t *b = &w->b;
  Parry__V1__Event *o = b->ev;
  char *s;
#define COPY(f) \
  if ((s = dup(b, ev->f))) o->f = s
  if (ev->has_timestamp) parry_evb_set_timestamp(b, ev->timestamp_ns);
  COPY(event_kind);
  for (size_t i = 0; i < ev->n_event_category; i++)
    if ((s = dup(b, ev->event_category[i]))) parry_evb_add_category(b, s);
  for (size_t i = 0; i < ev->n_event_type; i++)
    if ((s = dup(b, ev->event_type[i]))) parry_evb_add_type(b, s);
  COPY(event_action);
  COPY(event_outcome);
  COPY(event_dataset);
  if (ev->has_event_severity) parry_evb_set_severity(b, ev->event_severity);
  COPY(source_ip);
  o->source_port = ev->source_port;
  COPY(destination_ip);
  o->destination_port = ev->destination_port;
  COPY(user_name);
  COPY(host_name);
  COPY(process_name);
  if (ev->has_process_pid) parry_evb_set_process_pid(b, ev->process_pid);
  COPY(process_command_line);
  COPY(message);
#undef COPY
  if (ev->logsource)
    parry_evb_set_logsource(b, dup(b, ev->logsource->product), dup(b, ev->logsource->service),
                            dup(b, ev->logsource->category));
  for (size_t i = 0; ev->fields && i < ev->fields->n_entries; i++) {
    const Parry__V1__Entry *e = ev->fields->entries[i];
    copy_value(b, parry_evb_map_put(b, w->top, e->key, strlen(e->key)), e->value);
  }
}

/* Move the entries of winlog.<name> (a map) to the top level. */
static void hoist(win_t *w, Parry__V1__ValueMap *winlog, const char *name) {
  for (size_t i = 0; i < winlog->n_entries; i++) {
    Parry__V1__Entry *e = winlog->entries[i];
    if (strcmp(e->key, name) != 0 || e->value->kind_case != PARRY__V1__VALUE__KIND_MAP_VALUE)
      continue;
    Parry__V1__ValueMap *m = e->value->map_value;
    for (size_t j = 0; j < m->n_entries; j++)
      *data_slot(w, m->entries[j]->key, strlen(m->entries[j]->key)) = *m->entries[j]->value;
    memmove(&winlog->entries[i], &winlog->entries[i + 1],
            (winlog->n_entries - i - 1) * sizeof *winlog->entries);
    winlog->n_entries--;
    return;
  }
}

static const Parry__V1__Value *map_get(const Parry__V1__ValueMap *m, const char *key) {
  for (size_t i = 0; m && i < m->n_entries; i++)
    if (strcmp(m->entries[i]->key, key) == 0) return m->entries[i]->value;
  return NULL;
}

static parry_err_t shape_winlogbeat(win_t *w, json_object *obj) {
  Parry__V1__Event *ev = NULL;
  char why[256];
  json_object *winlog = NULL, *ed = NULL;
  size_t n = width(obj);
  if (json_object_object_get_ex(obj, "winlog", &winlog) &&
      json_object_is_type(winlog, json_type_object)) {
    n += width(winlog);
    if (json_object_object_get_ex(winlog, "event_data", &ed)) n += width(ed);
    if (json_object_object_get_ex(winlog, "user_data", &ed)) n += width(ed);
  }
  if (n > PARRY_VENDOR_MAX_FIELDS) return too_wide(w, n);
  if (parry_event_from_json_object(obj, &ev, why, sizeof why) != PARRY_OK)
    return fail(w, "%s", why);
  copy_event(w, ev);
  parry__v1__event__free_unpacked(ev, NULL);
  const Parry__V1__Value *wl = map_get(w->top, "winlog");
  if (!wl || wl->kind_case != PARRY__V1__VALUE__KIND_MAP_VALUE)
    return fail(w, "winlog is not an object");
  Parry__V1__ValueMap *wlmap = wl->map_value;
  const Parry__V1__Value *eid = map_get(wlmap, "event_id");
  char buf[32];
  size_t len = 0;
  const char *text = parry_vendor_text(eid, buf, &len);
  if (!eid) return fail(w, "winlog has no event_id");
  if (!text || eid->kind_case == PARRY__V1__VALUE__KIND_BOOL_VALUE)
    return fail(w, "winlog.event_id is not an integer");
  char q[72];
  if (event_id_text(w, text, len) != PARRY_OK)
    return fail(w, "winlog.event_id is not an integer: %s", parry_vendor_quote(q, text, len));
  static const struct {
    const char *from, *to;
  } names[] = {{"channel", "Channel"},         {"computer_name", "Computer"},
               {"provider_name", "Provider_Name"}, {"provider_guid", "Provider_Guid"},
               {"record_id", "EventRecordID"}, {"version", "Version"},
               {"task", "Task"},               {"opcode", "Opcode"}};
  put_event_id(w);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const Parry__V1__Value *v = map_get(wlmap, names[i].from);
    const char *t = parry_vendor_text(v, buf, &len);
    if (!t || map_get(w->top, names[i].to)) continue;
    put_text(w, parry_vendor_put(&w->b, w->top, names[i].to, strlen(names[i].to)), names[i].to,
             strlen(names[i].to), t, len);
  }
  system_done(w);
  hoist(w, wlmap, "event_data");
  hoist(w, wlmap, "user_data");
  return PARRY_OK;
}

/* ---- shape 4: XML --------------------------------------------------------- */

typedef struct xml_attr {
  const char *name;
  size_t nlen;
  char *value;
  size_t vlen;
  struct xml_attr *next;
} xml_attr_t;

typedef struct xml_node {
  const char *name; /* local name, without a namespace prefix */
  size_t nlen;
  xml_attr_t *attrs;
  char *text; /* character data directly inside, entities decoded */
  size_t tlen;
  bool has_text; /* any character data or CDATA at all */
  struct xml_node *children, *last, *next;
} xml_node_t;

typedef struct {
  const char *s;
  size_t len, pos;
  parry_arena_t *arena;
  size_t nodes; /* elements so far, capped like the fields they become */
  const char *error;
} xml_t;

static bool xml_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static bool xml_starts(const xml_t *x, const char *lit) {
  size_t n = strlen(lit);
  return x->len - x->pos >= n && memcmp(x->s + x->pos, lit, n) == 0;
}

/* Skip to just after `end`; false when the input ends first. */
static bool xml_skip_past(xml_t *x, const char *end) {
  size_t n = strlen(end);
  while (x->len - x->pos >= n) {
    if (memcmp(x->s + x->pos, end, n) == 0) {
      x->pos += n;
      return true;
    }
    x->pos++;
  }
  return false;
}

static size_t utf8_put(char *out, unsigned long cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Append s[0..len) with entities decoded to the node's text (or an
 * attribute value). Decoding never grows text: "&#x10FFFF;" is 10 bytes for
 * 4, so len bytes of room are enough. Unknown entities stay as written. */
static void xml_append(xml_t *x, char **text, size_t *tlen, const char *s, size_t len,
                       bool decode) {
  char *out = parry_arena_alloc(x->arena, *tlen + len + 1);
  if (*tlen) memcpy(out, *text, *tlen);
  size_t o = *tlen;
  for (size_t i = 0; i < len;) {
    if (!decode || s[i] != '&') {
      out[o++] = s[i++];
      continue;
    }
    static const struct {
      const char *name;
      char c;
    } named[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
    bool done = false;
    for (size_t k = 0; k < 5 && !done; k++) {
      size_t n = strlen(named[k].name);
      if (len - i - 1 >= n && memcmp(s + i + 1, named[k].name, n) == 0) {
        out[o++] = named[k].c;
        i += 1 + n;
        done = true;
      }
    }
    if (!done && i + 2 < len && s[i + 1] == '#') {
      size_t j = i + 2;
      bool hex = s[j] == 'x' || s[j] == 'X';
      if (hex) j++;
      unsigned long cp = 0;
      size_t digits = 0;
      for (; j < len && digits < 8; j++, digits++) {
        char c = s[j];
        int d = (c >= '0' && c <= '9') ? c - '0'
                : hex && (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : hex && (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) break;
        cp = cp * (hex ? 16 : 10) + (unsigned long)d;
      }
      if (digits && j < len && s[j] == ';') {
        o += utf8_put(out + o, cp);
        i = j + 1;
        done = true;
      }
    }
    if (!done) out[o++] = s[i++];
  }
  out[o] = '\0';
  *text = out;
  *tlen = o;
}

static bool xml_name(xml_t *x, const char **name, size_t *nlen) {
  size_t start = x->pos;
  while (x->pos < x->len && !xml_space(x->s[x->pos]) && x->s[x->pos] != '>' &&
         x->s[x->pos] != '/' && x->s[x->pos] != '=' && x->s[x->pos] != '<')
    x->pos++;
  if (x->pos == start) return false;
  *name = x->s + start;
  *nlen = x->pos - start;
  /* drop a namespace prefix: "evt:Event" is Event */
  const char *colon = memchr(*name, ':', *nlen);
  if (colon) {
    *nlen -= (size_t)(colon + 1 - *name);
    *name = colon + 1;
  }
  return true;
}

static xml_node_t *xml_element(xml_t *x, int depth);

static bool xml_content(xml_t *x, xml_node_t *node, int depth) {
  for (;;) {
    if (x->pos >= x->len) {
      x->error = "the XML ends inside an element";
      return false;
    }
    if (xml_starts(x, "</")) {
      x->pos += 2;
      const char *name;
      size_t nlen;
      if (!xml_name(x, &name, &nlen) || nlen != node->nlen || memcmp(name, node->name, nlen) != 0) {
        x->error = "an XML end tag does not match its start tag";
        return false;
      }
      while (x->pos < x->len && xml_space(x->s[x->pos])) x->pos++;
      if (x->pos >= x->len || x->s[x->pos] != '>') {
        x->error = "an XML end tag is not closed";
        return false;
      }
      x->pos++;
      return true;
    }
    if (xml_starts(x, "<!--")) {
      if (!xml_skip_past(x, "-->")) break;
    } else if (xml_starts(x, "<![CDATA[")) {
      x->pos += 9;
      size_t start = x->pos;
      if (!xml_skip_past(x, "]]>")) break;
      xml_append(x, &node->text, &node->tlen, x->s + start, x->pos - 3 - start, false);
      node->has_text = true;
    } else if (xml_starts(x, "<?")) {
      if (!xml_skip_past(x, "?>")) break;
    } else if (x->s[x->pos] == '<') {
      xml_node_t *child = xml_element(x, depth + 1);
      if (!child) return false;
      if (node->last)
        node->last->next = child;
      else
        node->children = child;
      node->last = child;
    } else {
      size_t start = x->pos;
      while (x->pos < x->len && x->s[x->pos] != '<') x->pos++;
      xml_append(x, &node->text, &node->tlen, x->s + start, x->pos - start, true);
      node->has_text = true;
    }
  }
  x->error = "the XML ends inside a comment, CDATA section or processing instruction";
  return false;
}

static xml_node_t *xml_element(xml_t *x, int depth) {
  if (depth > XML_MAX_DEPTH) {
    x->error = "the XML nests deeper than 32 elements";
    return NULL;
  }
  if (++x->nodes > PARRY_VENDOR_MAX_FIELDS) {
    x->error = "the XML has more elements than an event may have fields";
    return NULL;
  }
  x->pos++; /* '<' */
  xml_node_t *node = parry_arena_new(x->arena, xml_node_t, 1);
  if (!xml_name(x, &node->name, &node->nlen)) {
    x->error = "an XML element has no name";
    return NULL;
  }
  xml_attr_t **tail = &node->attrs;
  for (;;) {
    while (x->pos < x->len && xml_space(x->s[x->pos])) x->pos++;
    if (x->pos >= x->len) {
      x->error = "the XML ends inside a start tag";
      return NULL;
    }
    if (xml_starts(x, "/>")) {
      x->pos += 2;
      return node;
    }
    if (x->s[x->pos] == '>') {
      x->pos++;
      return xml_content(x, node, depth) ? node : NULL;
    }
    xml_attr_t *a = parry_arena_new(x->arena, xml_attr_t, 1);
    if (!xml_name(x, &a->name, &a->nlen)) {
      x->error = "an XML attribute has no name";
      return NULL;
    }
    while (x->pos < x->len && xml_space(x->s[x->pos])) x->pos++;
    if (x->pos >= x->len || x->s[x->pos] != '=') {
      x->error = "an XML attribute has no value";
      return NULL;
    }
    x->pos++;
    while (x->pos < x->len && xml_space(x->s[x->pos])) x->pos++;
    if (x->pos >= x->len || (x->s[x->pos] != '"' && x->s[x->pos] != '\'')) {
      x->error = "an XML attribute value is not quoted";
      return NULL;
    }
    char quote = x->s[x->pos++];
    size_t start = x->pos;
    while (x->pos < x->len && x->s[x->pos] != quote) x->pos++;
    if (x->pos >= x->len) {
      x->error = "an XML attribute value is not closed";
      return NULL;
    }
    a->value = "";
    xml_append(x, &a->value, &a->vlen, x->s + start, x->pos - start, true);
    x->pos++;
    *tail = a;
    tail = &a->next;
  }
}

static bool name_is(const char *name, size_t nlen, const char *lit) {
  return strlen(lit) == nlen && memcmp(name, lit, nlen) == 0;
}

/* Text that is only layout between child elements is no value. */
static bool xml_blank(const xml_node_t *n) {
  for (size_t i = 0; i < n->tlen; i++)
    if (!xml_space(n->text[i])) return false;
  return true;
}

static const char *xml_attr(const xml_node_t *n, const char *name, size_t *len) {
  for (const xml_attr_t *a = n->attrs; a; a = a->next)
    if (name_is(a->name, a->nlen, name)) {
      *len = a->vlen;
      return a->value;
    }
  return NULL;
}

static parry_err_t xml_system(win_t *w, const xml_node_t *sys) {
  for (const xml_node_t *e = sys->children; e; e = e->next) {
    if (name_is(e->name, e->nlen, "EventID")) {
      parry_err_t err = event_id_text(w, e->text ? e->text : "", e->tlen);
      if (err) return err;
      put_event_id(w);
    } else if (!e->children && e->has_text && !xml_blank(e)) {
      put_text(w, system_slot(w, e->name, e->nlen), e->name, e->nlen, e->text, e->tlen);
    }
    for (const xml_attr_t *a = e->attrs; a; a = a->next) {
      if (a->vlen == 0 || name_is(a->name, a->nlen, "xmlns")) continue;
      char key[256];
      size_t n = attr_key(key, sizeof key, e->name, e->nlen, a->name, a->nlen);
      put_text(w, system_slot(w, key, n), key, n, a->value, a->vlen);
    }
  }
  if (!w->have_event_id) return fail(w, "Event.System has no EventID");
  system_done(w);
  return PARRY_OK;
}

/* A leaf's text; an element with nothing in it is null, as evtx_dump
 * writes <Data Name="X"/>. */
static void xml_leaf(win_t *w, Parry__V1__Value *v, const xml_node_t *n) {
  if (n->tlen)
    parry_evb_value_str(&w->b, v, n->text, n->tlen);
  else
    parry_vendor_null(v);
}

static void xml_event_data(win_t *w, const xml_node_t *ed) {
  Parry__V1__Value *unnamed = NULL;
  for (const xml_node_t *d = ed->children; d; d = d->next) {
    size_t nlen;
    const char *name = name_is(d->name, d->nlen, "Data") ? xml_attr(d, "Name", &nlen) : NULL;
    if (name) {
      xml_leaf(w, data_slot(w, name, nlen), d);
    } else if (name_is(d->name, d->nlen, "Data")) {
      if (!unnamed) unnamed = data_slot(w, "Data", 4);
      xml_leaf(w, parry_evb_list_append(&w->b, unnamed), d);
    } else {
      xml_leaf(w, data_slot(w, d->name, d->nlen), d);
    }
  }
}

static parry_err_t shape_xml(win_t *w, const char *rec, size_t len, parry_arena_t *arena) {
  xml_t x = {.s = rec, .len = len, .arena = arena};
  xml_node_t *root = NULL;
  while (x.pos < len && !root) {
    if (xml_space(rec[x.pos])) {
      x.pos++;
    } else if (xml_starts(&x, "<?") || xml_starts(&x, "<!--")) {
      if (!xml_skip_past(&x, xml_starts(&x, "<?") ? "?>" : "-->"))
        return fail(w, "the XML ends inside its prolog");
    } else if (rec[x.pos] == '<') {
      root = xml_element(&x, 1);
      if (!root) return fail(w, "%s (at byte %zu)", x.error, x.pos);
    } else {
      return fail(w, "the record is not an XML element");
    }
  }
  if (!root) return fail(w, "the record is not an XML element");
  while (x.pos < len && xml_space(rec[x.pos])) x.pos++;
  if (x.pos < len) return fail(w, "data after the XML element (at byte %zu)", x.pos);
  if (!name_is(root->name, root->nlen, "Event")) {
    char q[72];
    return fail(w, "the XML element is <%s>, not <Event>", parry_vendor_quote(q, root->name, root->nlen));
  }
  const xml_node_t *sys = NULL;
  for (const xml_node_t *c = root->children; c && !sys; c = c->next)
    if (name_is(c->name, c->nlen, "System")) sys = c;
  if (!sys) return fail(w, "Event has no System");
  parry_err_t err = xml_system(w, sys);
  if (err) return err;
  for (const xml_node_t *c = root->children; c; c = c->next) {
    if (c == sys) continue;
    if (name_is(c->name, c->nlen, "EventData")) {
      xml_event_data(w, c);
    } else if (name_is(c->name, c->nlen, "UserData")) {
      for (const xml_node_t *u = c->children; u; u = u->next) xml_event_data(w, u);
    } else {
      /* RenderingInfo and the like: a map of their leaves */
      Parry__V1__Value *v = parry_vendor_top(&w->b, NS, c->name, c->nlen);
      Parry__V1__ValueMap *m = parry_evb_value_map(&w->b, v);
      for (const xml_node_t *l = c->children; l; l = l->next)
        xml_leaf(w, parry_vendor_put(&w->b, m, l->name, l->nlen), l);
    }
  }
  return PARRY_OK;
}

/* ---- ECS and logsource --------------------------------------------------- */

static const struct {
  const char *channel;
  const char *service;
} channels[] = {
    {"Security", "security"},
    {"System", "system"},
    {"Application", "application"},
    {"Microsoft-Windows-Sysmon/Operational", "sysmon"},
    {"Microsoft-Windows-PowerShell/Operational", "powershell"},
    {"Windows PowerShell", "powershell-classic"},
    {"Microsoft-Windows-Application-Experience/Program-Telemetry", "application-experience"},
    {"Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant",
     "application-experience"},
    {"Microsoft-Windows-AppLocker/MSI and Script", "applocker"},
    {"Microsoft-Windows-AppLocker/EXE and DLL", "applocker"},
    {"Microsoft-Windows-AppLocker/Packaged app-Deployment", "applocker"},
    {"Microsoft-Windows-AppLocker/Packaged app-Execution", "applocker"},
    {"Microsoft-Windows-AppModel-Runtime/Admin", "appmodel-runtime"},
    {"Microsoft-Windows-AppXDeploymentServer/Operational", "appxdeployment-server"},
    {"Microsoft-Windows-AppxPackaging/Operational", "appxpackaging-om"},
    {"Microsoft-Windows-BitLocker/BitLocker Management", "bitlocker"},
    {"Microsoft-Windows-Bits-Client/Operational", "bits-client"},
    {"Microsoft-Windows-CAPI2/Operational", "capi2"},
    {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
     "certificateservicesclient-lifecycle-system"},
    {"Microsoft-Windows-CodeIntegrity/Operational", "codeintegrity-operational"},
    {"Microsoft-Windows-DHCP-Server/Operational", "dhcp"},
    {"Microsoft-Windows-Diagnosis-Scripted/Operational", "diagnosis-scripted"},
    {"Microsoft-Windows-DNS Client Events/Operational", "dns-client"},
    {"DNS Server", "dns-server"},
    {"Microsoft-Windows-DNS-Server/Analytical", "dns-server-analytic"},
    {"Microsoft-Windows-DNS-Server/Audit", "dns-server-audit"},
    {"Microsoft-Windows-DriverFrameworks-UserMode/Operational", "driver-framework"},
    {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall", "firewall-as"},
    {"Microsoft-Windows-Hyper-V-Worker", "hyper-v-worker"},
    {"Microsoft-IIS-Configuration/Operational", "iis-configuration"},
    {"Microsoft-Windows-Kernel-EventTracing", "kernel-event-tracing"},
    {"Microsoft-Windows-Kernel-ShimEngine/Operational", "kernel-shimengine"},
    {"Microsoft-Windows-Kernel-ShimEngine/Diagnostic", "kernel-shimengine"},
    {"Microsoft-Windows-LDAP-Client/Debug", "ldap"},
    {"Microsoft-Windows-LSA/Operational", "lsa-server"},
    {"MSExchange Management", "msexchange-management"},
    {"Microsoft-Windows-Ntfs/Operational", "ntfs"},
    {"Microsoft-Windows-NTLM/Operational", "ntlm"},
    {"OpenSSH/Operational", "openssh"},
    {"Microsoft-Windows-PrintService/Admin", "printservice-admin"},
    {"Microsoft-Windows-PrintService/Operational", "printservice-operational"},
    {"Microsoft-Windows-Security-Mitigations/Kernel Mode", "security-mitigations"},
    {"Microsoft-Windows-Security-Mitigations/User Mode", "security-mitigations"},
    {"Microsoft-Windows-SENSE/Operational", "sense"},
    {"Microsoft-ServiceBus-Client/Operational", "servicebus-client"},
    {"Microsoft-ServiceBus-Client/Admin", "servicebus-client"},
    {"Microsoft-Windows-Shell-Core/Operational", "shell-core"},
    {"Microsoft-Windows-SmbClient/Security", "smbclient-security"},
    {"Microsoft-Windows-TaskScheduler/Operational", "taskscheduler"},
    {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
     "terminalservices-localsessionmanager"},
    {"Microsoft-Windows-VHDMP/Operational", "vhdmp"},
    {"Microsoft-Windows-Windows Defender/Operational", "windefend"},
    {"Microsoft-Windows-WMI-Activity/Operational", "wmi"},
};

static const char *const sysmon_categories[] = {
    [1] = "process_creation",      [2] = "file_change",           [3] = "network_connection",
    [4] = "sysmon_status",         [5] = "process_termination",   [6] = "driver_load",
    [7] = "image_load",            [8] = "create_remote_thread",  [9] = "raw_access_thread",
    [10] = "process_access",       [11] = "file_event",           [12] = "registry_add",
    [13] = "registry_set",         [14] = "registry_rename",      [15] = "create_stream_hash",
    [16] = "sysmon_status",        [17] = "pipe_created",         [18] = "pipe_created",
    [19] = "wmi_event",            [20] = "wmi_event",            [21] = "wmi_event",
    [22] = "dns_query",            [23] = "file_delete",          [24] = "clipboard_capture",
    [25] = "process_tampering",    [26] = "file_delete_detected", [27] = "file_block_executable",
    [28] = "file_block_shredding", [29] = "file_executable_detected",
};

/* ECS category and type for a Sigma category (NULL: none). */
static const struct {
  const char *sigma, *category, *type;
} ecs_by_sigma[] = {
    {"process_creation", "process", "start"},
    {"process_termination", "process", "end"},
    {"process_access", "process", "access"},
    {"network_connection", "network", "connection"},
    {"dns_query", "network", "protocol"},
    {"file_event", "file", "creation"},
    {"file_change", "file", "change"},
    {"file_delete", "file", "deletion"},
    {"file_delete_detected", "file", "deletion"},
    {"registry_add", "registry", "creation"},
    {"registry_delete", "registry", "deletion"},
    {"registry_set", "registry", "change"},
    {"registry_rename", "registry", "change"},
    {"image_load", "library", "start"},
    {"driver_load", "driver", "start"},
};

/* Logon and account events, Winlogbeat's actions. */
static const struct {
  int64_t id;
  const char *action, *type, *outcome; /* outcome NULL: from Status */
} logons[] = {
    {4624, "logged-in", "start", "success"},
    {4625, "logon-failed", "start", "failure"},
    {4634, "logged-out", "end", "success"},
    {4647, "logged-out", "end", "success"},
    {4648, "logged-in-explicit", "start", "success"},
    {4740, "locked-out-user-account", "change", "success"},
    {4768, "kerberos-authentication-ticket-requested", "start", NULL},
    {4771, "kerberos-preauth-failed", "start", "failure"},
    {4776, "credential-validated", "start", NULL},
};

/* The text of a collected field; NULL when absent, null, empty or "-",
 * which Windows writes for "no value". */
static const char *ftext(const win_t *w, int f, char buf[32], size_t *len) {
  const char *t = parry_vendor_text(w->f[f], buf, len);
  if (!t || *len == 0 || (*len == 1 && t[0] == '-')) return NULL;
  return t;
}

static void collect(win_t *w) {
  for (size_t i = 0; i < w->top->n_entries; i++) {
    const Parry__V1__Entry *e = w->top->entries[i];
    size_t len = strlen(e->key);
    for (int f = 0; f < N_FIELDS; f++)
      if (wanted[f].len == len && memcmp(wanted[f].name, e->key, len) == 0) {
        if (!w->f[f]) w->f[f] = e->value;
        break;
      }
  }
}

static const char *basename_of(const char *s, size_t len, size_t *out_len) {
  size_t i = len;
  while (i > 0 && s[i - 1] != '\\' && s[i - 1] != '/') i--;
  *out_len = len - i;
  return s + i;
}

static void set_process(win_t *w, int image, int pid, int cmdline, const char *prefix) {
  parry_evb_t *b = &w->b;
  char buf[32], path[40];
  size_t len;
  const char *t = ftext(w, image, buf, &len);
  bool parent = prefix[0] != '\0';
  if (t) {
    snprintf(path, sizeof path, "process.%sexecutable", prefix);
    parry_evb_field_str(b, path, t, len);
    size_t blen;
    const char *base = basename_of(t, len, &blen);
    if (parent) {
      snprintf(path, sizeof path, "process.%sname", prefix);
      parry_evb_field_str(b, path, base, blen);
    } else if (unset(b->ev->process_name)) {
      parry_evb_set_process_name(b, base, blen);
    }
  }
  uint64_t u;
  if ((t = ftext(w, pid, buf, &len)) && parry_vendor_uint(t, len, &u) && u > 0 && u <= INT64_MAX) {
    if (parent)
      parry_evb_field_int(b, "process.parent.pid", (int64_t)u);
    else if (!b->ev->has_process_pid)
      parry_evb_set_process_pid(b, (int64_t)u);
  }
  if (cmdline >= 0 && (t = ftext(w, cmdline, buf, &len))) {
    if (parent)
      parry_evb_field_str(b, "process.parent.command_line", t, len);
    else if (unset(b->ev->process_command_line))
      parry_evb_set_command_line(b, t, len);
  }
}

static void set_endpoint(win_t *w, int ip, int port, bool source) {
  char buf[32];
  size_t len;
  const char *t = ftext(w, ip, buf, &len);
  parry_evb_t *b = &w->b;
  if (t && unset(source ? b->ev->source_ip : b->ev->destination_ip)) {
    if (source)
      parry_evb_set_source_address(b, t, len);
    else
      parry_evb_set_destination_address(b, t, len);
  }
  uint32_t p;
  if ((t = ftext(w, port, buf, &len)) && parry_vendor_port(t, len, &p) &&
      !(source ? b->ev->source_port : b->ev->destination_port)) {
    if (source)
      parry_evb_set_source_port(b, p);
    else
      parry_evb_set_destination_port(b, p);
  }
}

static void set_user(win_t *w, int name, int domain) {
  char buf[32], dbuf[32];
  size_t len, dlen;
  const char *t = ftext(w, name, buf, &len);
  if (!t || !unset(w->b.ev->user_name)) return;
  parry_evb_set_user(&w->b, t, len);
  const char *d = domain >= 0 ? ftext(w, domain, dbuf, &dlen) : NULL;
  if (d) parry_evb_field_str(&w->b, "user.domain", d, dlen);
}

static bool is_sysmon(const win_t *w, const char *service) {
  if (service && strcmp(service, "sysmon") == 0) return true;
  char buf[32];
  size_t len;
  const char *prov = parry_vendor_text(w->f[F_PROVIDER], buf, &len);
  return !service && prov && len == 24 && memcmp(prov, "Microsoft-Windows-Sysmon", 24) == 0;
}

static void ecs(win_t *w) {
  parry_evb_t *b = &w->b;
  Parry__V1__Event *ev = b->ev;
  char buf[32], num[32];
  size_t len;
  collect(w);

  /* logsource */
  const char *service = NULL, *category = NULL;
  const char *chan = parry_vendor_text(w->f[F_CHANNEL], buf, &len);
  for (size_t i = 0; chan && i < sizeof channels / sizeof channels[0]; i++)
    if (strlen(channels[i].channel) == len && strncasecmp(channels[i].channel, chan, len) == 0)
      service = channels[i].service;
  int64_t id = w->event_id;
  if (is_sysmon(w, service)) {
    if (!service) service = "sysmon";
    if (id == 255)
      category = "sysmon_error";
    else if (id > 0 && id < (int64_t)(sizeof sysmon_categories / sizeof sysmon_categories[0]))
      category = sysmon_categories[id];
    const char *et = id == 12 ? ftext(w, F_EVENTTYPE, buf, &len) : NULL;
    if (et && len >= 6 && memcmp(et, "Delete", 6) == 0) category = "registry_delete";
  } else if (service && strcmp(service, "security") == 0 && id == 4688) {
    category = "process_creation";
  } else if (service && strcmp(service, "powershell-classic") == 0) {
    category = id == 400 ? "ps_classic_start" : id == 600 ? "ps_classic_provider_start"
               : id == 800 ? "ps_classic_script" : NULL;
  } else if ((service && strcmp(service, "powershell") == 0) ||
             (chan && len == 26 && strncasecmp(chan, "PowerShellCore/Operational", 26) == 0)) {
    category = id == 4103 ? "ps_module" : id == 4104 ? "ps_script" : NULL;
  }
  if (!ev->logsource || !ev->logsource->product || !*ev->logsource->product)
    parry_evb_set_logsource(b, "windows", service, category);

  /* event.* */
  snprintf(num, sizeof num, "%lld", (long long)id);
  if (!map_get(parry_evb_map_at(b, "event"), "code"))
    parry_evb_field_str(b, "event.code", num, strlen(num));
  const char *t = ftext(w, F_PROVIDER, buf, &len);
  if (t && !map_get(parry_evb_map_at(b, "event"), "provider"))
    parry_evb_field_str(b, "event.provider", t, len);
  if (unset(ev->event_kind)) parry_evb_set_kind(b, "event");
  if (unset(ev->event_dataset)) {
    char ds[64];
    snprintf(ds, sizeof ds, "windows%s%s", service ? "." : "", service ? service : "");
    parry_evb_set_dataset(b, ds, strlen(ds));
  }

  /* @timestamp */
  int64_t ns;
  bool have_time = ev->has_timestamp;
  if (!have_time && (t = ftext(w, F_TIMECREATED, buf, &len)) && parry_vendor_time(t, len, &ns)) {
    parry_evb_set_timestamp(b, ns);
    have_time = true;
  }
  if (!have_time && is_sysmon(w, service) && (t = ftext(w, F_UTCTIME, buf, &len)) &&
      parry_vendor_time(t, len, &ns)) {
    parry_evb_set_timestamp(b, ns);
    have_time = true;
  }
  if (w->ingested && json_object_is_type(w->ingested, json_type_string)) {
    const char *s = json_object_get_string(w->ingested);
    size_t n = (size_t)json_object_get_string_len(w->ingested);
    if (!have_time && parry_vendor_time(s, n, &ns))
      parry_evb_set_timestamp(b, ns);
    else
      parry_evb_field_str(b, "event.ingested", s, n);
  } else if (w->ingested) {
    parry_vendor_value(b, parry_evb_map_put(b, parry_evb_map_at(b, "event"), "ingested", 8),
                       w->ingested, 2);
  }

  if ((t = ftext(w, F_COMPUTER, buf, &len)) && unset(ev->host_name)) parry_evb_set_host(b, t, len);

  /* authentication */
  bool logon = false;
  if (!service || strcmp(service, "security") == 0) {
    for (size_t i = 0; i < sizeof logons / sizeof logons[0]; i++) {
      if (logons[i].id != id) continue;
      logon = true;
      parry_evb_add_category(b, "authentication");
      parry_evb_add_type(b, logons[i].type);
      if (unset(ev->event_action)) parry_evb_set_action(b, logons[i].action, (size_t)-1);
      const char *outcome = logons[i].outcome;
      if (!outcome && (t = ftext(w, F_STATUS, buf, &len))) {
        uint64_t status;
        outcome = parry_vendor_uint(t, len, &status) && status == 0 ? "success" : "failure";
      }
      if (outcome && unset(ev->event_outcome)) parry_evb_set_outcome(b, outcome);
    }
  }
  if (logon) {
    set_user(w, F_TARGETUSER, F_TARGETDOMAIN);
    set_endpoint(w, F_IPADDRESS, F_IPPORT, true);
    if ((t = ftext(w, F_WORKSTATION, buf, &len))) parry_evb_field_str(b, "source.domain", t, len);
  } else if ((t = ftext(w, F_USER, buf, &len))) {
    const char *slash = memchr(t, '\\', len);
    if (unset(ev->user_name)) {
      if (slash) {
        parry_evb_set_user(b, slash + 1, len - (size_t)(slash + 1 - t));
        parry_evb_field_str(b, "user.domain", t, (size_t)(slash - t));
      } else {
        parry_evb_set_user(b, t, len);
      }
    }
  } else {
    set_user(w, F_SUBJECTUSER, F_SUBJECTDOMAIN);
  }

  /* process */
  if (w->f[F_IMAGE]) {
    set_process(w, F_IMAGE, F_PROCESSID, F_COMMANDLINE, "");
    set_process(w, F_PARENTIMAGE, F_PARENTPROCESSID, F_PARENTCOMMANDLINE, "parent.");
  } else if (w->f[F_NEWPROCESSNAME]) { /* 4688: ProcessId is the creator's */
    set_process(w, F_NEWPROCESSNAME, F_NEWPROCESSID, F_COMMANDLINE, "");
    set_process(w, F_PARENTPROCESSNAME, F_PROCESSID, -1, "parent.");
  } else if (w->f[F_PROCESSNAME]) {
    set_process(w, F_PROCESSNAME, F_PROCESSID, F_COMMANDLINE, "");
  }

  /* network */
  set_endpoint(w, F_SOURCEIP, F_SOURCEPORT, true);
  set_endpoint(w, F_DESTIP, F_DESTPORT, false);
  set_endpoint(w, F_SOURCEADDRESS, F_SOURCEPORT, true);
  set_endpoint(w, F_DESTADDRESS, F_DESTPORT, false);
  if (w->f[F_DESTADDRESS]) {
    /* WFP writes the remote port as DestPort */
    Parry__V1__Value *dp = NULL;
    for (size_t i = 0; i < w->top->n_entries && !dp; i++)
      if (strcmp(w->top->entries[i]->key, "DestPort") == 0) dp = w->top->entries[i]->value;
    uint32_t p;
    if ((t = parry_vendor_text(dp, buf, &len)) && parry_vendor_port(t, len, &p) &&
        !ev->destination_port)
      parry_evb_set_destination_port(b, p);
  }

  /* categories from the Sigma category */
  for (size_t i = 0; category && i < sizeof ecs_by_sigma / sizeof ecs_by_sigma[0]; i++)
    if (strcmp(ecs_by_sigma[i].sigma, category) == 0) {
      parry_evb_add_category(b, ecs_by_sigma[i].category);
      parry_evb_add_type(b, ecs_by_sigma[i].type);
    }
}

/* ---- the parser ----------------------------------------------------------- */

static bool detect_json(json_object *obj) {
  json_object *v;
  if (!json_object_is_type(obj, json_type_object)) return false;
  if (json_object_object_get_ex(obj, "Event", &v))
    return json_object_is_type(v, json_type_object) && json_object_object_get_ex(v, "System", NULL);
  if (json_object_object_get_ex(obj, "winlog", &v)) return json_object_is_type(v, json_type_object);
  if (!json_object_object_get_ex(obj, "EventID", NULL)) return false;
  return json_object_object_get_ex(obj, "Channel", NULL) ||
         json_object_object_get_ex(obj, "SourceName", NULL) ||
         json_object_object_get_ex(obj, "Provider_Name", NULL) ||
         json_object_object_get_ex(obj, "Computer", NULL) ||
         json_object_object_get_ex(obj, "Hostname", NULL);
}

static parry_err_t parse_json(parry_parse_t *p, json_object *obj, char *errstr,
                              size_t errstr_size) {
  win_t w;
  win_init(&w, p, errstr, errstr_size);
  json_object *v = NULL;
  parry_err_t err;
  if (!json_object_is_type(obj, json_type_object))
    return fail(&w, "a Windows event is a JSON object, not %s",
                json_type_to_name(json_object_get_type(obj)));
  if (json_object_object_get_ex(obj, "Event", &v))
    err = shape_evtx(&w, v);
  else if (json_object_object_get_ex(obj, "winlog", &v))
    err = shape_winlogbeat(&w, obj);
  else if (json_object_object_get_ex(obj, "EventID", &v))
    err = shape_flat(&w, obj);
  else
    err = fail(&w, "no Event, winlog or EventID member: not a Windows event");
  if (err) return err;
  ecs(&w);
  parry_parse_emit(p, &w.b);
  return PARRY_OK;
}

static bool detect_text(void *state, const char *rec, size_t len) {
  size_t i = 0;
  while (i < len && xml_space(rec[i])) i++;
  if (len - i >= 5 && memcmp(rec + i, "<?xml", 5) == 0) { /* a declaration first */
    size_t end = i + 5;
    while (end + 1 < len && end < 256 && !(rec[end] == '?' && rec[end + 1] == '>')) end++;
    if (end + 1 >= len || end >= 256) return false;
    i = end + 2;
    while (i < len && xml_space(rec[i])) i++;
  }
  return len - i >= 7 && memcmp(rec + i, "<Event", 6) == 0 &&
         (xml_space(rec[i + 6]) || rec[i + 6] == '>');
}

static parry_err_t parse_text(parry_parse_t *p, const char *rec, size_t len, char *errstr,
                              size_t errstr_size) {
  win_t w;
  win_init(&w, p, errstr, errstr_size);
  parry_err_t err = shape_xml(&w, rec, len, p->arena);
  if (err) return err;
  ecs(&w);
  parry_evb_set_message(&w.b, rec, len);
  parry_parse_emit(p, &w.b);
  return PARRY_OK;
}

const parry_parser_t parry_parser_windows = {
    .name = "windows",
    .summary = "Windows Security/Sysmon events: EVTX JSON, Winlogbeat, flattened JSON, XML",
    .detect_text = detect_text,
    .detect_json = detect_json,
    .parse_text = parse_text,
    .parse_json = parse_json,
};
