/* Rendering a step's `with` tree into the inputs a connector receives: each
 * string leaf through its template with the escaping its input needs. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "parry/buf.h"
#include "runbook/rb_load.h"
#include "runbook/runbook.h"

#define RENDER_MAX_BYTES (1u << 20) /* per string input */

typedef struct {
  struct json_object *ctx;
  parry_escape_for_fn escape_for;
  void *opaque;
  char *errstr;
  size_t n;
} rctx_t;

static parry_err_t render(const rctx_t *r, const parry_with_t *w, char *path, size_t plen,
                          size_t cap, struct json_object **out) {
  *out = NULL;
  switch (w->kind) {
    case PARRY_WITH_NULL: return PARRY_OK;
    case PARRY_WITH_BOOL: *out = json_object_new_boolean(w->b); return PARRY_OK;
    case PARRY_WITH_INT: *out = json_object_new_int64(w->i); return PARRY_OK;
    case PARRY_WITH_FLOAT: *out = json_object_new_double(w->d); return PARRY_OK;
    case PARRY_WITH_STRING: {
      if (!w->tmpl) return parry_fail(r->errstr, r->n, PARRY_ERR_INVALID, "%s: not compiled", path);
      parry_escape_t esc = r->escape_for ? r->escape_for(r->opaque, path) : PARRY_ESCAPE_NONE;
      parry_buf_t b = PARRY_BUF_INIT(RENDER_MAX_BYTES);
      char msg[300];
      parry_err_t err = parry_template_render(w->tmpl, r->ctx, esc, &b, msg, sizeof msg);
      if (err) {
        parry_buf_free(&b);
        return parry_fail(r->errstr, r->n, err, "input %s: %s", path, msg);
      }
      *out = json_object_new_string_len(b.data ? b.data : "", (int)b.len);
      parry_buf_free(&b);
      return PARRY_OK;
    }
    case PARRY_WITH_LIST:
    case PARRY_WITH_MAP: {
      bool map = w->kind == PARRY_WITH_MAP;
      struct json_object *c = map ? json_object_new_object() : json_object_new_array();
      for (size_t i = 0; i < w->n; i++) {
        char seg[32];
        const char *name = map ? w->keys[i] : (snprintf(seg, sizeof seg, "%zu", i), seg);
        size_t nl = strlen(name), np = plen + (plen ? 1 : 0) + nl;
        if (np >= cap) {
          json_object_put(c);
          return parry_fail(r->errstr, r->n, PARRY_ERR_TOO_LARGE, "input path %s... too long",
                            path);
        }
        if (plen) path[plen] = '.';
        memcpy(path + plen + (plen ? 1 : 0), name, nl + 1);
        struct json_object *v;
        parry_err_t err = render(r, &w->items[i], path, np, cap, &v);
        if (err) {
          json_object_put(c);
          return err;
        }
        path[plen] = '\0';
        if (map) json_object_object_add(c, name, v);
        else json_object_array_add(c, v);
      }
      *out = c;
      return PARRY_OK;
    }
  }
  return PARRY_OK;
}

parry_err_t parry_runbook_render_with(const parry_step_t *step, struct json_object *ctx,
                                      parry_escape_for_fn escape_for, void *opaque,
                                      struct json_object **inputs, char *errstr, size_t n) {
  rctx_t r = {ctx, escape_for, opaque, errstr, n};
  char path[1024] = "";
  *inputs = NULL;
  if (!step->with || step->with->kind != PARRY_WITH_MAP) {
    *inputs = json_object_new_object();
    return PARRY_OK;
  }
  return render(&r, step->with, path, 0, sizeof path, inputs);
}

parry_escape_t parry_step_escape_for(void *step, const char *input_path) {
  const parry_step_t *s = step;
  return rb_connector_escape(s->uses, input_path);
}
