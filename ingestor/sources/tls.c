#include "sources/tls.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>

#include "parry/mem.h"

struct parry_tls_server {
  SSL_CTX *ctx;
  bool mutual;
};

void parry_tls_last_error(char *out, size_t out_size) {
  unsigned long e = ERR_get_error();
  if (!e) {
    snprintf(out, out_size, "unknown error");
  } else {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    snprintf(out, out_size, "%s", buf);
  }
  ERR_clear_error();
}

parry_err_t parry_tls_server_new(const char *prefix, const char *cert_file, const char *key_file,
                                 const char *client_ca_file, parry_tls_server_t **out,
                                 char *errstr, size_t errstr_size) {
  char why[256];
  parry_err_t err = PARRY_OK;
  if (!cert_file || !*cert_file || !key_file || !*key_file)
    return parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                      "%s: TLS needs a certificate and a key: set %s.cert_file and %s.key_file",
                      prefix, prefix, prefix);
  parry_tls_server_t *t = parry_xnew(parry_tls_server_t, 1);
  ERR_clear_error();
  t->ctx = SSL_CTX_new(TLS_server_method());
  if (!t->ctx) {
    parry_tls_last_error(why, sizeof why);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_EXTERNAL,
                     "%s: could not create a TLS context: %s", prefix, why);
    goto out;
  }
  /* TLS 1.2 is the oldest version RFC 5425 deployments still need; no
   * renegotiation (a peer-triggered CPU sink with nothing to gain here). */
  SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1) {
    parry_tls_last_error(why, sizeof why);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "%s.cert_file: could not load certificate %s: %s", prefix, cert_file, why);
    goto out;
  }
  if (SSL_CTX_use_PrivateKey_file(t->ctx, key_file, SSL_FILETYPE_PEM) != 1) {
    parry_tls_last_error(why, sizeof why);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "%s.key_file: could not load private key %s: %s", prefix, key_file, why);
    goto out;
  }
  if (SSL_CTX_check_private_key(t->ctx) != 1) {
    parry_tls_last_error(why, sizeof why);
    err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                     "%s.key_file: %s does not match the certificate in %s: %s", prefix,
                     key_file, cert_file, why);
    goto out;
  }
  if (client_ca_file && *client_ca_file) {
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(client_ca_file);
    if (!names || SSL_CTX_load_verify_locations(t->ctx, client_ca_file, NULL) != 1) {
      if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
      parry_tls_last_error(why, sizeof why);
      err = parry_fail(errstr, errstr_size, PARRY_ERR_INVALID,
                       "%s.client_ca_file: could not load CA certificates from %s: %s", prefix,
                       client_ca_file, why);
      goto out;
    }
    SSL_CTX_set_client_CA_list(t->ctx, names); /* names owned by the context now */
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    t->mutual = true;
  }
out:
  if (err) {
    parry_tls_server_destroy(t);
    return err;
  }
  *out = t;
  return PARRY_OK;
}

void parry_tls_server_destroy(parry_tls_server_t *t) {
  if (!t) return;
  SSL_CTX_free(t->ctx);
  free(t);
}

SSL_CTX *parry_tls_server_ctx(const parry_tls_server_t *t) { return t->ctx; }
bool parry_tls_server_mutual(const parry_tls_server_t *t) { return t->mutual; }
