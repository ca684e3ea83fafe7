/* Dotted paths into a JSON document, resolved the way runbook expressions
 * resolve them (runbook/expr.h): a segment that is not a key of the object
 * tries the following segments joined with '.', so "group_by.source.ip"
 * finds the group_by key "source.ip"; a numeric segment indexes an array. */
#ifndef PARRY_EXECUTOR_WORKER_PATHS_H
#define PARRY_EXECUTOR_WORKER_PATHS_H

struct json_object;

/* The value at path, or NULL when absent (borrowed from doc). */
struct json_object *parry_json_path(struct json_object *doc, const char *path);

/* The value at path as text (strings as they are, other scalars and
 * containers as compact JSON), malloc'd; NULL when absent or JSON null. */
char *parry_json_path_text(struct json_object *doc, const char *path);

#endif
