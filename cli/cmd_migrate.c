/* parry migrate: bring the case store's PostgreSQL schema up to date (what
 * the executor does at start when executor.migrate is on). Idempotent and
 * safe to run from several places at once (lib/parry/pg.h). */
#include <string.h>

#include "cli.h"
#include "parry/config.h"
#include "store/store.h"

static const char usage[] =
    "usage: parry migrate [--dsn DSN] [--dir DIR] [--config FILE] [--set key=value]...\n"
    "\n"
    "Applies the case store's migrations (executor/store/sql/NNNN_name.sql, or DIR,\n"
    "or the setting executor.db.migrations) that the database does not have yet,\n"
    "each in its own transaction, and prints the schema version. The database is\n"
    "--dsn, else the setting pg.dsn (PARRY_PG_DSN). Running it again changes nothing.\n";

int parry_cmd_migrate(int argc, char **argv, char **envp, FILE *out, FILE *err) {
  parry_config_t *cfg = parry_config_new();
  parry_store_t *store = NULL;
  const char *dsn = NULL, *dir = NULL;
  char errstr[1024];
  int rc = 0;
  if (parry_config_from_args(cfg, &argc, argv, envp, errstr, sizeof errstr)) {
    fprintf(err, "parry migrate: %s\n", errstr);
    rc = 2;
    goto out;
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      fputs(usage, out);
      goto out;
    } else if (strcmp(argv[i], "--dsn") == 0 && i + 1 < argc) {
      dsn = argv[++i];
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else {
      fprintf(err, "parry migrate: unknown argument \"%s\"\n%s", argv[i], usage);
      rc = 2;
      goto out;
    }
  }
  if (!dsn) dsn = parry_config_str(cfg, "pg.dsn");
  if (!dsn || !*dsn) {
    fprintf(err, "parry migrate: no database: give --dsn or set pg.dsn (PARRY_PG_DSN)\n");
    rc = 2;
    goto out;
  }
  if (!dir) dir = parry_store_migrations_dir(parry_config_str(cfg, "executor.db.migrations"));
  store = parry_store_open(dsn, errstr, sizeof errstr);
  if (!store || parry_store_migrate(store, dir, errstr, sizeof errstr)) {
    fprintf(err, "parry migrate: %s\n", errstr);
    rc = 1;
    goto out;
  }
  PGresult *res = PQexec(parry_store_conn(store),
                         "SELECT max(version), count(*) FROM parry_schema_migrations");
  if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
    fprintf(out, "case store schema at version %s (%s migrations applied, from %s)\n",
            PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), dir);
  PQclear(res);
out:
  parry_store_close(store);
  parry_config_destroy(cfg);
  return rc;
}
