/* Source allowlists: which peers may send syslog (ingestor.syslog.allow).
 *
 * A list of CIDR blocks, IPv4 or IPv6, or single addresses ("10.0.0.0/8,
 * 192.0.2.7, 2001:db8::/32"). IPv4 peers that reach a dual-stack IPv6 socket
 * as IPv4-mapped addresses (::ffff:10.1.2.3) are checked as the IPv4 address
 * they are, so one list serves both kinds of socket.
 *
 * Read-only after parsing: any number of threads may check one list.
 */
#ifndef PARRY_SOURCES_ALLOW_H
#define PARRY_SOURCES_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "parry/error.h"

typedef struct parry_allowlist parry_allowlist_t;

/* spec: comma-separated blocks; blanks around entries are ignored. An empty
 * spec gives an empty list, which allows nobody. `what` names the setting in
 * errors ("ingestor.syslog.allow: \"10.0.0.0/33\" is not ..."). */
parry_err_t parry_allowlist_parse(const char *spec, const char *what, parry_allowlist_t **out,
                                  char *errstr, size_t errstr_size);
void parry_allowlist_destroy(parry_allowlist_t *list); /* accepts NULL */

size_t parry_allowlist_size(const parry_allowlist_t *list);
bool parry_allowlist_allows(const parry_allowlist_t *list, const struct sockaddr *addr);

/* The peer's address as text, without the port ("10.1.2.3", "2001:db8::1");
 * IPv4-mapped addresses are written as IPv4. out: at least 64 bytes. */
void parry_sockaddr_ip(const struct sockaddr *addr, char *out, size_t out_size);

#endif
