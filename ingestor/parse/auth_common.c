/* Helpers shared by the syslog message parsers (auth_msg.h). */
#include <string.h>

#include "auth_msg.h"

ptrdiff_t parry_auth_rfind(span_t s, const char *lit, size_t n) {
  if (s.n < n) return -1;
  for (size_t i = s.n - n + 1; i-- > 0;)
    if (s.p[i] == lit[0] && memcmp(s.p + i, lit, n) == 0) return (ptrdiff_t)i;
  return -1;
}

bool parry_auth_uint(span_t s, uint32_t *out, size_t *used) {
  uint32_t v = 0;
  size_t i = 0;
  while (i < s.n && i < 9 && s.p[i] >= '0' && s.p[i] <= '9')
    v = v * 10 + (uint32_t)(s.p[i++] - '0');
  if (i == 0) return false;
  *out = v;
  *used = i;
  return true;
}

bool parry_auth_port_prefix(span_t s, uint32_t *out, size_t *used) {
  uint32_t v;
  size_t n;
  if (!parry_auth_uint(s, &v, &n) || v < 1 || v > 65535) return false;
  *out = v;
  *used = n;
  return true;
}

bool parry_auth_port(span_t s, uint32_t *out) {
  size_t used;
  uint32_t v;
  if (!parry_auth_port_prefix(s, &v, &used) || used != s.n) return false;
  *out = v;
  return true;
}

void parry_auth_classify(parry_auth_ctx_t *c, const char *action, const char *outcome,
                         const char *category, const char *category2, const char *type) {
  parry_evb_t *b = c->b;
  parry_evb_set_action_static(b, action); /* literals (or builder text): no copy */
  parry_evb_set_outcome(b, outcome);
  if (category) parry_evb_add_category(b, category);
  if (category2) parry_evb_add_category(b, category2);
  if (type) parry_evb_add_type(b, type);
  c->failure = outcome[0] == 'f';
}

static bool is_dotted_v4(span_t s) {
  if (s.n < 7 || s.n > 15) return false;
  for (size_t i = 0; i < s.n; i++)
    if (!((s.p[i] >= '0' && s.p[i] <= '9') || s.p[i] == '.')) return false;
  return true;
}

void parry_auth_source(parry_auth_ctx_t *c, span_t addr, uint32_t port) {
  if (!addr.n) return;
  /* "::ffff:1.2.3.4" (any case) is an IPv4 client on a dual-stack socket */
  if (addr.n > 7 && (addr.p[2] == 'f' || addr.p[2] == 'F') &&
      strncasecmp(addr.p, "::ffff:", 7) == 0 && is_dotted_v4(skip(addr, 7)))
    addr = skip(addr, 7);
  parry_evb_set_source_address(c->b, addr.p, addr.n);
  if (port) parry_evb_set_source_port(c->b, port);
  c->has_source = true;
  c->source = addr;
  c->source_port = port;
}

void parry_auth_user(parry_auth_ctx_t *c, span_t user) {
  if (user.n) parry_evb_set_user(c->b, user.p, user.n);
  /* never next to a typed user.name: the codec refuses the pair */
  else if (!c->b->ev->user_name || !c->b->ev->user_name[0])
    parry_evb_field_str(c->b, "user.name", "", 0);
}

