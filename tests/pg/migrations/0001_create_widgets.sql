-- Test migration for tests/pg/test_pg.c. No IF NOT EXISTS: applying it twice
-- must fail, so the tests notice if the migrator runs it again.
CREATE TABLE widgets (
  id bigint PRIMARY KEY,
  label text NOT NULL
);
