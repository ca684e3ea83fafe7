/* libFuzzer target for the case store's masking and UTF-8 cleaning
 * (executor/store/store_mask.c, store.c): whatever JSON or bytes come in,
 *   - store_utf8_clean gives valid UTF-8 (what PostgreSQL accepts) and keeps
 *     valid input as it is;
 *   - parry_store_mask_json never lets a registered secret through in any
 *     key or string, and masks every member whose key names a secret;
 *   - parry_store_mask_text leaves no secret in the text.
 * The first line of the input is taken as a secret value, the rest as JSON. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int valid_utf8(const unsigned char *p) {
  while (*p) {
    unsigned char c = *p;
    size_t k = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!k) return 0;
    for (size_t i = 1; i < k; i++)
      if ((p[i] & 0xC0) != 0x80) return 0;
    if (k == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))) return 0;
    if (k == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))) return 0;
    p += k;
  }
  return 1;
}

/* No string or key of v contains secret. */
static void check_tree(struct json_object *v, const char *secret) {
  if (!v) return;
  switch (json_object_get_type(v)) {
  case json_type_object: {
    json_object_object_foreach(v, key, val) {
      if (*secret && strstr(key, secret)) abort();
      check_tree(val, secret);
    }
    break;
  }
  case json_type_array:
    for (size_t i = 0; i < json_object_array_length(v); i++)
      check_tree(json_object_array_get_idx(v, i), secret);
    break;
  case json_type_string:
    if (*secret && strstr(json_object_get_string(v), secret)) abort();
    break;
  default:
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';

  char *clean = store_utf8_clean(text);
  if (clean) {
    if (!valid_utf8((const unsigned char *)clean)) abort();
    free(clean);
  } else if (!valid_utf8((const unsigned char *)text)) {
    abort(); /* NULL means "valid already" */
  }

  char *nl = strchr(text, '\n');
  const char *secret = "";
  const char *json = text;
  if (nl) {
    *nl = '\0';
    secret = text;
    json = nl + 1;
  }
  /* Secrets under 4 bytes are ignored by design; "****" itself would be
   * found in every masked output. */
  int usable = strlen(secret) >= 4 && !strstr("****", secret) && !strstr(secret, "****");
  const char *secrets[1] = {secret};
  char *masked = parry_store_mask_text(json, secrets, 1);
  if (usable && strstr(masked, secret)) {
    /* A secret may be formed across a mask boundary only if it contains
     * '*' characters; anything else is a leak. */
    if (!strchr(secret, '*')) abort();
  }
  free(masked);

  struct json_object *tree = json_tokener_parse(json);
  if (tree) {
    struct json_object *m = parry_store_mask_json(tree, secrets, 1);
    if (usable && !strchr(secret, '*')) check_tree(m, secret);
    /* A member whose key names a secret keeps nothing of its value. */
    if (json_object_get_type(m) == json_type_object) {
      struct json_object *pw = NULL;
      if (json_object_object_get_ex(m, "password", &pw) &&
          strcmp(json_object_get_string(pw), "****") != 0)
        abort();
    }
    json_object_put(m);
    json_object_put(tree);
  }
  free(text);
  return 0;
}
