/* TLS for the syslog TCP listener (OpenSSL): a server context from PEM
 * files, optionally requiring client certificates signed by a given CA
 * (mutual TLS), which then authenticates peers instead of the allowlist.
 *
 * The context is read-only once built and shared by the connections of one
 * listener thread; each connection has its own SSL object.
 */
#ifndef PARRY_SOURCES_TLS_H
#define PARRY_SOURCES_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "parry/error.h"

typedef struct parry_tls_server parry_tls_server_t;

/* prefix names the settings in errors ("ingestor.syslog.tls"): the files
 * are its .cert_file, .key_file and .client_ca_file (NULL or "": no client
 * certificates asked for). */
parry_err_t parry_tls_server_new(const char *prefix, const char *cert_file, const char *key_file,
                                 const char *client_ca_file, parry_tls_server_t **out,
                                 char *errstr, size_t errstr_size);
void parry_tls_server_destroy(parry_tls_server_t *t); /* accepts NULL */

SSL_CTX *parry_tls_server_ctx(const parry_tls_server_t *t);
/* True when client certificates are required (mutual TLS). */
bool parry_tls_server_mutual(const parry_tls_server_t *t);

/* The oldest error in this thread's OpenSSL error queue, as text, and the
 * queue emptied; "unknown error" when it is empty. */
void parry_tls_last_error(char *out, size_t out_size);

#endif
