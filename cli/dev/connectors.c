/* The example connectors file, made safe and self-contained for `parry dev`:
 * every target pointed at the loopback stand-ins, so no step leaves this
 * machine, and every secret read from the environment (`token_env: NAME`)
 * read from a private file instead, so the demo needs no account and no
 * secret passes through the services' environment (where PARRY_* names
 * would also be taken for settings). Text-level, on YAML Parry ships. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev.h"

static bool random_hex(char out[49]) {
  unsigned char b[24];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = read(fd, b, sizeof b) == (ssize_t)sizeof b;
  close(fd);
  for (int i = 0; i < 24; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
  return ok;
}

static bool write_secret(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
  return close(fd) == 0 && ok;
}

static bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool dev_connectors_rewrite(const char *in, size_t len, int http_port, int smtp_port,
                            const char *secret_dir, parry_buf_t *out, char *errstr,
                            size_t errstr_size) {
  static const char *const schemes[] = {"https://", "http://", "smtps://", "smtp://"};
  char http[64], smtp[64];
  snprintf(http, sizeof http, "http://127.0.0.1:%d", http_port);
  snprintf(smtp, sizeof smtp, "smtp://127.0.0.1:%d", smtp_port);
  for (size_t i = 0; i < len;) {
    if (in[i] == '#' && (i == 0 || strchr(" \t\n", in[i - 1]))) {
      while (i < len && in[i] != '\n') parry_buf_append_char(out, in[i++]);
      continue; /* a comment stays as it is */
    }
    size_t k;
    for (k = 0; k < 4; k++)
      if (len - i >= strlen(schemes[k]) && strncmp(in + i, schemes[k], strlen(schemes[k])) == 0)
        break;
    if (k < 4 && (k < 2 ? http_port : smtp_port) > 0) {
      parry_buf_append_str(out, k < 2 ? http : smtp);
      i += strlen(schemes[k]);
      while (i < len && !strchr("/\"' \n\t#?,}]", in[i])) i++; /* the old authority */
      continue;
    }
    if (len - i < 5 || strncmp(in + i, "_env:", 5) != 0) {
      parry_buf_append_char(out, in[i++]);
      continue;
    }
    size_t j = i + 5;
    while (j < len && (in[j] == ' ' || in[j] == '"' || in[j] == '\'')) j++;
    size_t n = 0;
    while (j + n < len && n < 64 && name_char(in[j + n])) n++;
    if (!n) {
      parry_buf_append_char(out, in[i++]);
      continue;
    }
    char name[65], path[512], random[49];
    memcpy(name, in + j, n);
    name[n] = '\0';
    snprintf(path, sizeof path, "%s/secret-%s", secret_dir, name);
    const char *value = getenv(name);
    if (!value || !*value) {
      if (!random_hex(random)) {
        snprintf(errstr, errstr_size, "no random bytes for %s", name);
        return false;
      }
      value = random;
    }
    if (!write_secret(path, value)) {
      snprintf(errstr, errstr_size, "could not write %s", path);
      return false;
    }
    parry_buf_printf(out, "_file: \"%s\"", path);
    i = j + n;
    while (i < len && (in[i] == '"' || in[i] == '\'')) i++;
  }
  return true;
}
