/* A throwaway PostgreSQL cluster for `parry dev`, the same recipe as
 * scripts/pg.sh but self-contained: initdb into dir/pg/data, a private
 * port on 127.0.0.1 and a private socket directory, a generated password
 * (scram-sha-256 for every connection, so the port is authenticated), and
 * durability off (it lives for one run). PostgreSQL refuses to run as root:
 * as root, initdb and the server run as the `postgres` user (PG_OS_USER),
 * which must be able to reach dir. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dev.h"
#include "parry/mem.h"
#include "parry/pg.h"

struct dev_pg {
  pid_t pid;
  int port;
  char dir[512];
  char dsn[512];
  char describe[700];
  char log[600];
};

extern char **environ;

const char *dev_pg_bindir(void) {
  static char found[4096];
  const char *env = getenv("PG_BIN");
  char probe[4200];
  if (env && *env) {
    snprintf(probe, sizeof probe, "%s/initdb", env);
    if (access(probe, X_OK) == 0) return env;
  }
  if (access("/usr/lib/postgresql/15/bin/initdb", X_OK) == 0) return "/usr/lib/postgresql/15/bin";
  glob_t gl;
  if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &gl) == 0 && gl.gl_pathc) {
    snprintf(found, sizeof found, "%s", gl.gl_pathv[gl.gl_pathc - 1]);
    globfree(&gl);
    *strrchr(found, '/') = '\0';
    return found;
  }
  return NULL;
}

/* 24 random bytes as hex: nothing to quote in a DSN or a file. */
static bool random_hex(char out[49]) {
  unsigned char b[24];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = read(fd, b, sizeof b);
  close(fd);
  if (n != (ssize_t)sizeof b) return false;
  for (int i = 0; i < 24; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
  return true;
}

/* The environment without PG* variables that could point a tool elsewhere. */
static char **clean_env(void) {
  size_t n = 0;
  for (char **e = environ; *e; e++) n++;
  char **out = parry_xnew(char *, n + 1);
  size_t k = 0;
  for (char **e = environ; *e; e++)
    if (strncmp(*e, "PG", 2) != 0) out[k++] = *e;
  out[k] = NULL;
  return out;
}

static bool write_file(const char *path, const char *text, mode_t mode, const dev_user_t *as) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
  if (as->drop && fchown(fd, as->uid, as->gid)) ok = false;
  return close(fd) == 0 && ok;
}

dev_pg_t *dev_pg_start(const char *dir, char *errstr, size_t errstr_size) {
  const char *bin = dev_pg_bindir();
  if (!bin) {
    snprintf(errstr, errstr_size,
             "PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or "
             "$PG_BIN): scripts/install-deps.sh installs it");
    return NULL;
  }
  dev_user_t as = {0};
  if (geteuid() == 0) {
    const char *name = getenv("PG_OS_USER");
    struct passwd *pw = getpwnam(name && *name ? name : "postgres");
    if (!pw) {
      snprintf(errstr, errstr_size,
               "running as root, and PostgreSQL refuses root: no user \"%s\" to run it as "
               "(set PG_OS_USER)",
               name && *name ? name : "postgres");
      return NULL;
    }
    as = (dev_user_t){true, pw->pw_uid, pw->pw_gid};
  }
  dev_pg_t *pg = parry_xnew(dev_pg_t, 1);
  char data[600], sock[600], pwfile[600], conf[700], initlog[600];
  snprintf(pg->dir, sizeof pg->dir, "%s/pg", dir);
  snprintf(data, sizeof data, "%s/data", pg->dir);
  snprintf(sock, sizeof sock, "%s/sock", pg->dir);
  snprintf(pwfile, sizeof pwfile, "%s/pwfile", pg->dir);
  snprintf(initlog, sizeof initlog, "%s/initdb.log", pg->dir);
  snprintf(pg->log, sizeof pg->log, "%s/postgres.log", pg->dir);
  char password[49];
  char **env = clean_env();
  if (strlen(sock) + 18 > 107) {
    snprintf(errstr, errstr_size, "socket directory %s is too long for a unix socket", sock);
    goto fail;
  }
  if (mkdir(pg->dir, 0700) || mkdir(sock, 0700) || !random_hex(password)) {
    snprintf(errstr, errstr_size, "could not prepare %s: %s", pg->dir, strerror(errno));
    goto fail;
  }
  if (as.drop && (chown(pg->dir, as.uid, as.gid) || chown(sock, as.uid, as.gid) ||
                  chmod(dir, 0711))) {
    snprintf(errstr, errstr_size, "could not hand %s to the server's user: %s", pg->dir,
             strerror(errno));
    goto fail;
  }
  if (!write_file(pwfile, password, 0600, &as)) {
    snprintf(errstr, errstr_size, "could not write %s", pwfile);
    goto fail;
  }
  char initdb[4200], pwarg[700];
  snprintf(initdb, sizeof initdb, "%s/initdb", bin);
  snprintf(pwarg, sizeof pwarg, "--pwfile=%s", pwfile);
  char *init_argv[] = {initdb,          "-D",       data,         "-U", "parry", pwarg,
                       "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync",
                       NULL};
  int st = 0;
  pid_t pid = dev_spawn(init_argv, env, initlog, &as, errstr, errstr_size);
  if (pid < 0) goto fail;
  if (!dev_wait(pid, 120000, &st) || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    dev_stop(pid, SIGTERM, 2000);
    snprintf(errstr, errstr_size, "initdb failed (its output is in %s)", initlog);
    goto fail;
  }
  unlink(pwfile);

  pg->port = dev_free_port();
  snprintf(conf, sizeof conf, "%s/parry-dev.conf", data);
  char settings[8192];
  snprintf(settings, sizeof settings,
           "# written by parry dev\n"
           "listen_addresses = '127.0.0.1'\nport = %d\n"
           "unix_socket_directories = '%s'\nunix_socket_permissions = 0700\n"
           "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
           "max_connections = 100\nshared_buffers = 64MB\n"
           "log_min_messages = warning\nlc_messages = 'C'\ntimezone = 'UTC'\n",
           pg->port, sock);
  char pgconf[700];
  snprintf(pgconf, sizeof pgconf, "%s/postgresql.conf", data);
  FILE *f = fopen(pgconf, "a");
  if (!f || !write_file(conf, settings, 0600, &as)) {
    if (f) fclose(f);
    snprintf(errstr, errstr_size, "could not configure the cluster in %s", data);
    goto fail;
  }
  fputs("include_if_exists = 'parry-dev.conf'\n", f);
  fclose(f);

  char postgres[4200];
  snprintf(postgres, sizeof postgres, "%s/postgres", bin);
  char *pg_argv[] = {postgres, "-D", data, NULL};
  pg->pid = dev_spawn(pg_argv, env, pg->log, &as, errstr, errstr_size);
  if (pg->pid < 0) goto fail;

  snprintf(pg->dsn, sizeof pg->dsn,
           "host=127.0.0.1 port=%d dbname=postgres user=parry password=%s connect_timeout=3",
           pg->port, password);
  bool up = false;
  for (int i = 0; i < 600 && !dev_interrupted; i++) {
    if (!dev_running(pg->pid, NULL)) break;
    if (PQping(pg->dsn) == PQPING_OK) {
      up = true;
      break;
    }
    dev_sleep_ms(100);
  }
  if (!up) {
    snprintf(errstr, errstr_size, "PostgreSQL did not start (its log: %s)", pg->log);
    goto fail;
  }
  PGconn *c = NULL;
  char why[512];
  if (parry_pg_connect(pg->dsn, "parry-dev", &c, why, sizeof why)) {
    snprintf(errstr, errstr_size, "could not connect to the new cluster: %s", why);
    goto fail;
  }
  PGresult *r = PQexec(c, "CREATE DATABASE parry");
  bool created = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!created) snprintf(errstr, errstr_size, "CREATE DATABASE: %s", PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
  if (!created) goto fail;
  snprintf(pg->dsn, sizeof pg->dsn,
           "host=127.0.0.1 port=%d dbname=parry user=parry password=%s connect_timeout=3",
           pg->port, password);
  snprintf(pg->describe, sizeof pg->describe, "127.0.0.1:%d, data in %s", pg->port, data);
  free(env);
  return pg;
fail:
  free(env);
  dev_pg_stop(pg);
  return NULL;
}

const char *dev_pg_dsn(const dev_pg_t *pg) { return pg->dsn; }
const char *dev_pg_describe(const dev_pg_t *pg) { return pg->describe; }

void dev_pg_stop(dev_pg_t *pg) {
  if (!pg) return;
  /* SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for clients). */
  dev_stop(pg->pid, SIGINT, 15000);
  free(pg);
}
