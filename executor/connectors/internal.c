/* Internal connectors: carried out by the executor worker against the case
 * store, not by the engine. Declared here so that runbook validation knows
 * their names and inputs; parry_conn_start refuses them. */
#include "connectors/conn_internal.h"

static const parry_conn_input_t case_update_inputs[] = {
    {"severity", PARRY_CONN_IN_TEXT, 0, false, "new severity: informational..critical"},
    {"status", PARRY_CONN_IN_TEXT, 0, false, "new status: open, investigating, closed ..."},
    {"assignee", PARRY_CONN_IN_TEXT, 0, false, "who owns the case"},
    {"tags", PARRY_CONN_IN_TEXT, 0, false, "tags to add (list of strings)"},
    {"escalate", PARRY_CONN_IN_TEXT, 0, false, "true: escalate to incident response"},
    {"note", PARRY_CONN_IN_TEXT, 0, false, "text added to the case timeline"},
};

const parry_connector_t parry_connector_case_update = {
    .name = "case_update",
    .help = "update the case (severity, status, assignee, tags, escalation); internal",
    .inputs = case_update_inputs,
    .ninputs = sizeof case_update_inputs / sizeof case_update_inputs[0],
    .internal = true,
};

static const parry_conn_input_t history_inputs[] = {
    {"entity", PARRY_CONN_IN_TEXT, 0, true, "kind of entity: ip, user or host"},
    {"value", PARRY_CONN_IN_TEXT, 0, true, "the entity's value"},
    {"window", PARRY_CONN_IN_TEXT, 0, false, "how far back to look, e.g. 30d"},
};

const parry_connector_t parry_connector_history = {
    .name = "history",
    .help = "earlier alerts and cases of an entity (first seen, counts, last outcome); internal",
    .inputs = history_inputs,
    .ninputs = sizeof history_inputs / sizeof history_inputs[0],
    .internal = true,
};

static const parry_conn_input_t approval_inputs[] = {
    {"approvers", PARRY_CONN_IN_TEXT, 0, false, "who may approve (list of names)"},
    {"message", PARRY_CONN_IN_TEXT, 0, false, "what is asked"},
    {"timeout", PARRY_CONN_IN_TEXT, 0, false, "how long to wait, e.g. 1h"},
};

const parry_connector_t parry_connector_approval = {
    .name = "approval",
    .help = "wait for a human to approve the following steps; internal",
    .inputs = approval_inputs,
    .ninputs = sizeof approval_inputs / sizeof approval_inputs[0],
    .internal = true,
};
