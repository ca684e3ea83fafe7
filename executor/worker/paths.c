#include "worker/paths.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "parry/mem.h"

/* Resolve segs[i..n) in v: the single segment as a key first, then longer
 * joins when that one leads nowhere. */
static struct json_object *walk(struct json_object *v, char **segs, size_t i, size_t n) {
  if (i == n) return v;
  if (!v) return NULL;
  if (json_object_is_type(v, json_type_array)) {
    char *end;
    long idx = strtol(segs[i], &end, 10);
    if (*segs[i] && !*end && idx >= 0 && (size_t)idx < json_object_array_length(v))
      return walk(json_object_array_get_idx(v, (size_t)idx), segs, i + 1, n);
    return NULL;
  }
  if (!json_object_is_type(v, json_type_object)) return NULL;
  char key[1024];
  size_t len = 0;
  for (size_t j = i; j < n; j++) {
    size_t sl = strlen(segs[j]);
    if (len + sl + 2 > sizeof key) return NULL;
    if (j > i) key[len++] = '.';
    memcpy(key + len, segs[j], sl);
    len += sl;
    key[len] = '\0';
    struct json_object *child;
    if (json_object_object_get_ex(v, key, &child)) {
      struct json_object *r = walk(child, segs, j + 1, n);
      if (r) return r;
    }
  }
  return NULL;
}

struct json_object *parry_json_path(struct json_object *doc, const char *path) {
  char *copy = parry_xstrdup(path);
  char *segs[64];
  size_t n = 0;
  for (char *save = NULL, *tok = strtok_r(copy, ".", &save); tok && n < 64;
       tok = strtok_r(NULL, ".", &save))
    segs[n++] = tok;
  struct json_object *r = n ? walk(doc, segs, 0, n) : doc;
  free(copy);
  return r;
}

char *parry_json_path_text(struct json_object *doc, const char *path) {
  struct json_object *v = parry_json_path(doc, path);
  if (!v || json_object_is_type(v, json_type_null)) return NULL;
  if (json_object_is_type(v, json_type_string))
    return parry_xstrndup(json_object_get_string(v), (size_t)json_object_get_string_len(v));
  return parry_xstrdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}
