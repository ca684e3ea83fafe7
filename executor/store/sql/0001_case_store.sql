-- The case store: alerts, cases, the append-only case timeline, runs and
-- step runs, and the entity index for history. docs/case-store.md describes
-- the guarantees; executor/store/store.c is the only writer.
--
-- Times are timestamptz. Ids of cases, runs and timeline rows are bigint
-- identities; an alert's id is its deterministic id from the correlator.

-- Value lists as domains rather than CHECK constraints on the tables: a
-- domain's check is compiled once per session, a table's CHECK expression is
-- read back from its stored form at every INSERT and UPDATE statement, which
-- showed in profiles of the ingest hot path.
CREATE DOMAIN parry_case_status AS text
  CHECK (VALUE IN ('open', 'acknowledged', 'investigating', 'resolved', 'closed'));
CREATE DOMAIN parry_severity AS text
  CHECK (VALUE IN ('informational', 'low', 'medium', 'high', 'critical'));
CREATE DOMAIN parry_entity_kind AS text CHECK (VALUE IN ('ip', 'user', 'host'));
CREATE DOMAIN parry_run_state AS text
  CHECK (VALUE IN ('pending', 'running', 'waiting', 'succeeded', 'failed'));
CREATE DOMAIN parry_step_state AS text
  CHECK (VALUE IN ('running', 'succeeded', 'failed', 'retrying', 'skipped'));
CREATE DOMAIN parry_attempt AS integer CHECK (VALUE >= 1);
CREATE DOMAIN parry_timeline_kind AS text CHECK (VALUE IN (
  'case_opened', 'alert_attached', 'grouping_closed', 'case_updated',
  'run_resumed', 'run_succeeded', 'run_failed',
  'step_started', 'step_succeeded', 'step_failed', 'step_retried', 'step_skipped'));

CREATE TABLE cases (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  runbook      text NOT NULL,
  group_key    text NOT NULL,          -- canonical text of the grouping values
  group_values jsonb NOT NULL DEFAULT '{}',
  status       parry_case_status NOT NULL DEFAULT 'open',
  severity     parry_severity NOT NULL DEFAULT 'medium',
  assignee     text,
  tags         text[] NOT NULL DEFAULT '{}',
  resolution   text,
  escalated    boolean NOT NULL DEFAULT false,
  -- True while alerts of the group may join: until an alert arrives after
  -- window_end, or the case is resolved or closed.
  accepting    boolean NOT NULL DEFAULT true,
  alert_count  bigint NOT NULL DEFAULT 0,
  first_seen   timestamptz NOT NULL,
  last_seen    timestamptz NOT NULL,
  window_end   timestamptz NOT NULL,   -- first alert time + the runbook's window
  created      timestamptz NOT NULL DEFAULT now(),
  updated      timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70); -- room on the page for in-place (HOT) updates
-- At most one case accepts alerts per (runbook, group): the guard behind the
-- advisory lock that parry_ingest_alert takes.
CREATE UNIQUE INDEX cases_accepting_group ON cases (runbook, group_key) WHERE accepting;
-- No index on first_seen, last_seen or alert_count: attaching an alert
-- then updates the case in place (HOT), the hottest write of the store.
CREATE INDEX cases_status ON cases (status, id);

CREATE TABLE alerts (
  id           text PRIMARY KEY,
  rule_id      text NOT NULL,
  rule_title   text NOT NULL,
  rule_level   text NOT NULL,
  group_by     jsonb NOT NULL DEFAULT '{}',
  at           timestamptz NOT NULL,   -- the alert's @timestamp
  window_start timestamptz,
  window_end   timestamptz,
  received     timestamptz NOT NULL DEFAULT now(),
  alert        jsonb NOT NULL,         -- the canonical alert JSON
  case_id      bigint REFERENCES cases (id) -- the first case it joined
);
-- Every index costs each ingest an insert: only those a query of the store
-- uses exist (cases are found through case_alerts, and never deleted).

-- Every case an alert joined (one per matching runbook).
CREATE TABLE case_alerts (
  case_id  bigint NOT NULL REFERENCES cases (id),
  alert_id text NOT NULL REFERENCES alerts (id),
  PRIMARY KEY (case_id, alert_id)
);
CREATE INDEX case_alerts_alert ON case_alerts (alert_id);

-- Entities seen in each alert, for history lookups.
CREATE TABLE alert_entities (
  kind     parry_entity_kind NOT NULL,
  value    text NOT NULL,
  alert_id text NOT NULL REFERENCES alerts (id),
  at       timestamptz NOT NULL,
  PRIMARY KEY (kind, value, alert_id)
);

CREATE TABLE runs (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id         bigint NOT NULL REFERENCES cases (id),
  runbook         text NOT NULL,
  runbook_version text NOT NULL DEFAULT '',
  alert_id        text NOT NULL REFERENCES alerts (id),
  state           parry_run_state NOT NULL DEFAULT 'pending',
  lease_owner     text,
  lease_until     timestamptz,
  -- When the run is next claimable. A claim sets it to the lease's end, so
  -- that "runnable" is one index range: next_attempt_at <= now().
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  claims          integer NOT NULL DEFAULT 0,
  error           text,
  created         timestamptz NOT NULL DEFAULT now(),
  updated         timestamptz NOT NULL DEFAULT now(),
  finished        timestamptz
);
CREATE INDEX runs_runnable ON runs (next_attempt_at)
  WHERE state IN ('pending', 'running', 'waiting');
CREATE INDEX runs_lease_owner ON runs (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX runs_case ON runs (case_id);

CREATE TABLE step_runs (
  run_id          bigint NOT NULL REFERENCES runs (id),
  step_id         text NOT NULL,
  attempt         parry_attempt NOT NULL,
  state           parry_step_state NOT NULL,
  connector       text,
  idempotency_key text NOT NULL,       -- alert id || ':' || step id, every attempt
  inputs          jsonb,               -- masked
  outputs         jsonb,               -- masked
  error           text,                -- masked
  retryable       boolean,
  next_attempt_at timestamptz,
  started         timestamptz NOT NULL DEFAULT now(),
  finished        timestamptz,
  PRIMARY KEY (run_id, step_id, attempt)
);
-- A step succeeds at most once per run.
CREATE UNIQUE INDEX step_runs_one_success ON step_runs (run_id, step_id)
  WHERE state = 'succeeded';

CREATE TABLE case_timeline (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id  bigint NOT NULL REFERENCES cases (id),
  at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  kind     parry_timeline_kind NOT NULL,
  run_id   bigint,
  step_id  text,
  attempt  integer,
  alert_id text,
  actor    text,
  data     jsonb NOT NULL DEFAULT '{}' -- inputs, outputs, errors: masked
);
CREATE INDEX case_timeline_case ON case_timeline (case_id, id);

-- The timeline is evidence: rows are added, never changed or removed.
CREATE FUNCTION parry_timeline_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'case_timeline is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER case_timeline_no_update_delete
  BEFORE UPDATE OR DELETE ON case_timeline
  FOR EACH ROW EXECUTE FUNCTION parry_timeline_append_only();
CREATE TRIGGER case_timeline_no_truncate
  BEFORE TRUNCATE ON case_timeline
  FOR EACH STATEMENT EXECUTE FUNCTION parry_timeline_append_only();

-- These helpers are STABLE, as the functions they call (to_char, timestamptz
-- arithmetic) are: a SQL function declared more strictly than its body is
-- not inlined, and would be parsed again at every call of the hot paths.

-- RFC 3339 UTC with microseconds, as the JSON the store hands out.
CREATE FUNCTION parry_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- Microseconds since the epoch and back (the C side speaks nanoseconds and
-- divides or multiplies by 1000); exact, unlike a double.
CREATE FUNCTION parry_from_us(us bigint) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT timestamptz 'epoch' + us * interval '1 microsecond'
$$;

CREATE FUNCTION parry_us(t timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT (extract(epoch FROM t) * 1000000)::bigint
$$;

CREATE FUNCTION parry_case_json(c cases) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'id', c.id, 'runbook', c.runbook, 'group_key', c.group_key,
    'group', c.group_values, 'status', c.status, 'severity', c.severity,
    'assignee', c.assignee, 'tags', to_jsonb(c.tags), 'resolution', c.resolution,
    'escalated', c.escalated, 'accepting', c.accepting, 'alert_count', c.alert_count,
    'first_seen', parry_ts(c.first_seen), 'last_seen', parry_ts(c.last_seen),
    'window_end', parry_ts(c.window_end), 'created', parry_ts(c.created),
    'updated', parry_ts(c.updated))
$$;

-- Ingest one alert: store it by id (a known id changes nothing and returns
-- one 'duplicate' row), index its entities, and for each runbook match join
-- the case accepting the group or open one with its run. Returns one row per
-- match ('attached' / 'opened'), or one 'stored' row when nothing matched.
--
-- p_matches: [{"runbook", "version", "group_key", "group": {..},
--              "window_us": n, "severity": s|null}, ...]
-- p_entities: [["ip", "203.0.113.7"], ["user", "root"], ...]
--
-- Cost matters here (every alert): the alert row is written once, with its
-- case id, after the case work, and the case update touches no indexed
-- column (a HOT update). An alert that a concurrent transaction stored
-- between the existence check and the insert aborts this transaction with
-- serialization_failure (40001): the caller runs it again and then sees a
-- duplicate.
CREATE FUNCTION parry_ingest_alert(
  p_id text, p_rule_id text, p_rule_title text, p_rule_level text,
  p_group_by jsonb, p_at timestamptz, p_window_start timestamptz,
  p_window_end timestamptz, p_alert jsonb, p_entities jsonb, p_matches jsonb)
RETURNS TABLE (outcome text, case_id bigint, run_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
  m        jsonb;
  v_case   bigint;
  v_end    timestamptz;
  v_run    bigint;
  v_window bigint;
  v_sev    text;
  v_rb     text;
  v_key    text;
  v_cases  bigint[] := '{}';
  v_out    text[] := '{}';
BEGIN
  IF jsonb_array_length(p_matches) = 0 THEN
    INSERT INTO alerts (id, rule_id, rule_title, rule_level, group_by, at,
                        window_start, window_end, alert)
    VALUES (p_id, p_rule_id, p_rule_title, p_rule_level, p_group_by, p_at,
            p_window_start, p_window_end, p_alert)
    ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'duplicate'::text, NULL::bigint, NULL::bigint;
      RETURN;
    END IF;
    INSERT INTO alert_entities (kind, value, alert_id, at)
    SELECT DISTINCT e->>0, e->>1, p_id, p_at FROM jsonb_array_elements(p_entities) e
    ON CONFLICT DO NOTHING;
    RETURN QUERY SELECT 'stored'::text, NULL::bigint, NULL::bigint;
    RETURN;
  END IF;

  IF EXISTS (SELECT 1 FROM alerts a WHERE a.id = p_id) THEN
    RETURN QUERY SELECT 'duplicate'::text, NULL::bigint, NULL::bigint;
    RETURN;
  END IF;

  FOR m IN SELECT x.value FROM jsonb_array_elements(p_matches) WITH ORDINALITY x
           ORDER BY x.ordinality LOOP
    v_rb := m->>'runbook';
    v_key := m->>'group_key';
    v_window := (m->>'window_us')::bigint;
    v_case := NULL;
    v_run := NULL;
    IF v_window > 0 THEN
      -- One writer per group at a time, across replicas: with the lock
      -- held, the SELECT below (a fresh snapshot in READ COMMITTED) sees
      -- any case another transaction opened and committed.
      PERFORM pg_advisory_xact_lock(1885430393, hashtext(v_rb || chr(31) || v_key));
      SELECT c.id, c.window_end INTO v_case, v_end FROM cases c
      WHERE c.runbook = v_rb AND c.group_key = v_key AND c.accepting;
    END IF;
    IF v_case IS NOT NULL AND p_at < v_end THEN
      UPDATE cases c SET alert_count = c.alert_count + 1,
                         first_seen = least(c.first_seen, p_at),
                         last_seen = greatest(c.last_seen, p_at),
                         updated = now()
      WHERE c.id = v_case;
      v_out := v_out || 'attached'::text;
    ELSE
      IF v_case IS NOT NULL THEN
        -- This alert is past the window: the old case keeps its alerts and
        -- status, and stops accepting new ones.
        UPDATE cases c SET accepting = false, updated = now() WHERE c.id = v_case;
        INSERT INTO case_timeline (case_id, kind, alert_id, data)
        VALUES (v_case, 'grouping_closed', p_id,
                jsonb_build_object('reason', 'window ended', 'window_end', parry_ts(v_end)));
      END IF;
      v_sev := coalesce(m->>'severity', p_rule_level);
      IF v_sev NOT IN ('informational', 'low', 'medium', 'high', 'critical') THEN
        v_sev := 'medium';
      END IF;
      v_end := p_at + greatest(v_window, 0) * interval '1 microsecond';
      INSERT INTO cases (runbook, group_key, group_values, severity, accepting,
                         alert_count, first_seen, last_seen, window_end)
      VALUES (v_rb, v_key, coalesce(m->'group', '{}'), v_sev, v_window > 0, 1, p_at, p_at,
              v_end)
      RETURNING id INTO v_case;
      v_out := v_out || 'opened'::text;
    END IF;
    v_cases := v_cases || v_case;
  END LOOP;

  INSERT INTO alerts (id, rule_id, rule_title, rule_level, group_by, at,
                      window_start, window_end, alert, case_id)
  VALUES (p_id, p_rule_id, p_rule_title, p_rule_level, p_group_by, p_at,
          p_window_start, p_window_end, p_alert, v_cases[1])
  ON CONFLICT (id) DO NOTHING;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'alert % was stored by a concurrent transaction', p_id
      USING ERRCODE = 'serialization_failure';
  END IF;
  INSERT INTO alert_entities (kind, value, alert_id, at)
  SELECT DISTINCT e->>0, e->>1, p_id, p_at FROM jsonb_array_elements(p_entities) e
  ON CONFLICT DO NOTHING;
  INSERT INTO case_alerts (case_id, alert_id)
  SELECT DISTINCT c, p_id FROM unnest(v_cases) c
  ON CONFLICT DO NOTHING;

  -- Runs and timeline rows last: runs reference the alert.
  FOR i IN 1 .. array_length(v_cases, 1) LOOP
    v_run := NULL;
    IF v_out[i] = 'opened' THEN
      m := p_matches->(i - 1);
      INSERT INTO runs (case_id, runbook, runbook_version, alert_id)
      VALUES (v_cases[i], m->>'runbook', coalesce(m->>'version', ''), p_id)
      RETURNING id INTO v_run;
      INSERT INTO case_timeline (case_id, kind, run_id, alert_id, data)
      SELECT v_cases[i], 'case_opened', v_run, p_id,
             jsonb_build_object('runbook', c.runbook, 'version', m->>'version',
                                'group', c.group_values, 'severity', c.severity,
                                'window_end', parry_ts(c.window_end))
      FROM cases c WHERE c.id = v_cases[i];
    END IF;
    INSERT INTO case_timeline (case_id, kind, alert_id, data)
    VALUES (v_cases[i], 'alert_attached', p_id,
            jsonb_build_object('rule_id', p_rule_id, 'rule_title', p_rule_title,
                               'rule_level', p_rule_level, 'at', parry_ts(p_at),
                               'group_by', p_group_by));
    outcome := v_out[i];
    case_id := v_cases[i];
    run_id := v_run;
    RETURN NEXT;
  END LOOP;
END
$$;

-- A batch of alerts in one statement (one round trip, one transaction):
-- first every group lock of the batch, in one order, so that two batches
-- cannot deadlock on them; then parry_ingest_alert for each element of
-- p_alerts in order. Rows: (idx, outcome, case_id, run_id), idx 1-based.
-- p_alerts: [{"id", "rule_id", "rule_title", "rule_level", "group_by",
--             "at_us", "window_start_us", "window_end_us", "alert",
--             "entities", "matches"}, ...]; p_locks: ["runbook\x1fgroup key", ...]
CREATE FUNCTION parry_ingest_alerts(p_alerts jsonb, p_locks jsonb)
RETURNS TABLE (idx integer, outcome text, case_id bigint, run_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
  a jsonb;
  i integer;
  r record;
BEGIN
  -- Volatile functions in an aggregate's input run in the subquery's order.
  PERFORM count(pg_advisory_xact_lock(1885430393, h))
  FROM (SELECT DISTINCT hashtext(k) AS h FROM jsonb_array_elements_text(p_locks) k
        ORDER BY 1) s;
  FOR a, i IN SELECT x.value, x.ordinality FROM jsonb_array_elements(p_alerts)
              WITH ORDINALITY x ORDER BY x.ordinality LOOP
    FOR r IN SELECT * FROM parry_ingest_alert(
        a->>'id', a->>'rule_id', a->>'rule_title', a->>'rule_level', a->'group_by',
        parry_from_us((a->>'at_us')::bigint), parry_from_us((a->>'window_start_us')::bigint),
        parry_from_us((a->>'window_end_us')::bigint), a->'alert', a->'entities',
        a->'matches') LOOP
      idx := i;
      outcome := r.outcome;
      case_id := r.case_id;
      run_id := r.run_id;
      RETURN NEXT;
    END LOOP;
  END LOOP;
END
$$;

-- parry_ingest_alerts, and in the same transaction a lease for p_owner on
-- the first p_max runs it created (by idx): the ingesting executor runs them
-- from memory instead of claiming them back in another round trip. The lease
-- is an ordinary one (next_attempt_at = its end, claims = 1): if the owner
-- dies it expires and any replica claims the run. Rows as parry_ingest_alerts
-- plus, for the leased runs only, what a claim loads about them.
CREATE FUNCTION parry_ingest_alerts_leased(p_alerts jsonb, p_locks jsonb, p_owner text,
                                           p_lease_us bigint, p_max integer)
RETURNS TABLE (idx integer, outcome text, case_id bigint, run_id bigint,
               runbook text, runbook_version text, alert_id text, claims integer,
               lease_until_us bigint, case_json text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_idx    integer[];
  v_out    text[];
  v_case   bigint[];
  v_run    bigint[];
  v_leased bigint[];
BEGIN
  SELECT array_agg(i.idx ORDER BY i.o), array_agg(i.outcome ORDER BY i.o),
         array_agg(i.case_id ORDER BY i.o), array_agg(i.run_id ORDER BY i.o)
  INTO v_idx, v_out, v_case, v_run
  FROM parry_ingest_alerts(p_alerts, p_locks) WITH ORDINALITY i(idx, outcome, case_id, run_id, o);
  WITH l AS (SELECT u.r FROM unnest(v_run) WITH ORDINALITY u(r, o) WHERE u.r IS NOT NULL
             ORDER BY u.o LIMIT greatest(p_max, 0)),
  up AS (UPDATE runs x SET lease_owner = p_owner,
           lease_until = now() + p_lease_us * interval '1 microsecond',
           next_attempt_at = now() + p_lease_us * interval '1 microsecond',
           state = 'running', claims = x.claims + 1, updated = now()
         FROM l WHERE x.id = l.r RETURNING x.id)
  SELECT array_agg(up.id) INTO v_leased FROM up;
  RETURN QUERY
  SELECT u.i, u.oc, u.c, u.r, x.runbook, x.runbook_version, x.alert_id, x.claims,
         parry_us(x.lease_until), CASE WHEN cs.id IS NOT NULL THEN parry_case_json(cs)::text END
  FROM unnest(v_idx, v_out, v_case, v_run) WITH ORDINALITY u(i, oc, c, r, o)
  LEFT JOIN runs x ON x.id = u.r AND x.id = ANY(coalesce(v_leased, '{}'))
  LEFT JOIN cases cs ON cs.id = x.case_id
  ORDER BY u.o;
END
$$;

-- Record one step transition, fenced by the lease: nothing is written unless
-- p_owner holds the run. Returns 'ok', 'replay' (already recorded: nothing
-- written), 'lease_lost', 'already_succeeded' (a start of a step whose success
-- is recorded) or 'no_attempt' (finishing an attempt that never started).
CREATE FUNCTION parry_step_event(
  p_run bigint, p_owner text, p_kind text, p_step text, p_connector text,
  p_attempt integer, p_inputs jsonb, p_outputs jsonb, p_error text,
  p_retryable boolean, p_next timestamptz)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_case    bigint;
  v_alert   text;
  v_attempt integer;
  v_state   text;
  v_kind    text;
BEGIN
  -- FOR SHARE: a claimer (FOR UPDATE SKIP LOCKED) cannot take the run over
  -- between this check and the writes below.
  SELECT r.case_id, r.alert_id INTO v_case, v_alert FROM runs r
  WHERE r.id = p_run AND r.lease_owner = p_owner
  FOR SHARE;
  IF NOT FOUND THEN
    RETURN 'lease_lost';
  END IF;

  IF p_kind = 'started' THEN
    IF EXISTS (SELECT 1 FROM step_runs s WHERE s.run_id = p_run AND s.step_id = p_step
               AND s.state = 'succeeded') THEN
      RETURN 'already_succeeded';
    END IF;
    INSERT INTO step_runs (run_id, step_id, attempt, state, connector, idempotency_key,
                           inputs)
    VALUES (p_run, p_step, p_attempt, 'running', p_connector, v_alert || ':' || p_step,
            p_inputs)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      RETURN 'replay';
    END IF;
    INSERT INTO case_timeline (case_id, kind, run_id, step_id, attempt, data)
    VALUES (v_case, 'step_started', p_run, p_step, p_attempt,
            jsonb_build_object('connector', p_connector, 'inputs', p_inputs,
                               'idempotency_key', v_alert || ':' || p_step));
    RETURN 'ok';
  END IF;

  IF p_kind = 'skipped' THEN
    v_attempt := coalesce(nullif(p_attempt, 0), 1);
    INSERT INTO step_runs (run_id, step_id, attempt, state, connector, idempotency_key,
                           error, finished)
    VALUES (p_run, p_step, v_attempt, 'skipped', p_connector, v_alert || ':' || p_step,
            p_error, now())
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      RETURN 'replay';
    END IF;
    INSERT INTO case_timeline (case_id, kind, run_id, step_id, attempt, data)
    VALUES (v_case, 'step_skipped', p_run, p_step, v_attempt,
            jsonb_build_object('reason', p_error));
    RETURN 'ok';
  END IF;

  IF coalesce(p_attempt, 0) = 0 THEN
    SELECT max(s.attempt) INTO v_attempt FROM step_runs s
    WHERE s.run_id = p_run AND s.step_id = p_step;
  ELSE
    v_attempt := p_attempt;
  END IF;
  SELECT s.state INTO v_state FROM step_runs s
  WHERE s.run_id = p_run AND s.step_id = p_step AND s.attempt = v_attempt
  FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'no_attempt';
  END IF;
  IF v_state <> 'running' THEN
    RETURN 'replay';
  END IF;

  IF p_kind = 'succeeded' THEN
    UPDATE step_runs s SET state = 'succeeded', outputs = p_outputs, finished = now()
    WHERE s.run_id = p_run AND s.step_id = p_step AND s.attempt = v_attempt;
    INSERT INTO case_timeline (case_id, kind, run_id, step_id, attempt, data)
    VALUES (v_case, 'step_succeeded', p_run, p_step, v_attempt,
            jsonb_build_object('outputs', p_outputs));
    RETURN 'ok';
  END IF;

  IF p_kind = 'failed' THEN
    IF p_retryable AND p_next IS NOT NULL THEN
      v_state := 'retrying';
      v_kind := 'step_retried';
    ELSE
      v_state := 'failed';
      v_kind := 'step_failed';
    END IF;
    UPDATE step_runs s SET state = v_state, error = p_error, retryable = p_retryable,
                           next_attempt_at = CASE WHEN v_state = 'retrying' THEN p_next END,
                           finished = now()
    WHERE s.run_id = p_run AND s.step_id = p_step AND s.attempt = v_attempt;
    INSERT INTO case_timeline (case_id, kind, run_id, step_id, attempt, data)
    VALUES (v_case, v_kind, p_run, p_step, v_attempt,
            jsonb_build_object('error', p_error, 'retryable', p_retryable,
                               'next_attempt_at',
                               CASE WHEN v_state = 'retrying' THEN parry_ts(p_next) END));
    RETURN 'ok';
  END IF;

  RAISE EXCEPTION 'unknown step event kind %', p_kind USING ERRCODE = 'invalid_parameter_value';
END
$$;

-- Many transitions in one statement (the scheduler's batches): one call of
-- parry_step_event per element of p_events, in order, answers in order.
-- p_events: [{"run", "kind", "step", "connector", "attempt", "inputs",
--             "outputs", "error", "retryable", "next_us"}, ...]
CREATE FUNCTION parry_step_events(p_owner text, p_events jsonb) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
  e       jsonb;
  answers text[] := '{}';
BEGIN
  FOR e IN SELECT x.value FROM jsonb_array_elements(p_events) WITH ORDINALITY x
           ORDER BY x.ordinality LOOP
    answers := answers || parry_step_event(
      (e->>'run')::bigint, p_owner, e->>'kind', e->>'step', e->>'connector',
      (e->>'attempt')::integer, e->'inputs', e->'outputs', e->>'error',
      (e->>'retryable')::boolean, parry_from_us((e->>'next_us')::bigint));
  END LOOP;
  RETURN answers;
END
$$;

-- Apply a case change; returns 'changed', 'unchanged' or 'not_found'. One
-- case_updated timeline row lists each changed field as {"from", "to"}.
CREATE FUNCTION parry_case_update(
  p_case bigint, p_status text, p_severity text, p_assignee text, p_resolution text,
  p_add_tags jsonb, p_remove_tags jsonb, p_escalated integer, p_note text, p_actor text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  o cases%ROWTYPE;
  n cases%ROWTYPE;
  changes jsonb := '{}';
BEGIN
  SELECT * INTO o FROM cases c WHERE c.id = p_case FOR UPDATE;
  IF NOT FOUND THEN
    RETURN 'not_found';
  END IF;
  n := o;
  n.status := coalesce(p_status, o.status);
  n.severity := coalesce(p_severity, o.severity);
  IF p_assignee IS NOT NULL THEN
    n.assignee := nullif(p_assignee, '');
  END IF;
  n.resolution := coalesce(p_resolution, o.resolution);
  IF p_escalated >= 0 THEN
    n.escalated := p_escalated > 0;
  END IF;
  SELECT coalesce(array_agg(t ORDER BY first), '{}') INTO n.tags FROM (
    SELECT t, min(ord) AS first FROM (
      SELECT t, ord FROM unnest(o.tags) WITH ORDINALITY u(t, ord)
      UNION ALL
      SELECT t, 1000000 + ord FROM jsonb_array_elements_text(coalesce(p_add_tags, '[]'))
        WITH ORDINALITY a(t, ord)) all_tags
    WHERE t NOT IN (SELECT jsonb_array_elements_text(coalesce(p_remove_tags, '[]')))
    GROUP BY t) kept;

  IF n.status IS DISTINCT FROM o.status THEN
    changes := changes || jsonb_build_object('status', jsonb_build_object('from', o.status, 'to', n.status));
  END IF;
  IF n.severity IS DISTINCT FROM o.severity THEN
    changes := changes || jsonb_build_object('severity', jsonb_build_object('from', o.severity, 'to', n.severity));
  END IF;
  IF n.assignee IS DISTINCT FROM o.assignee THEN
    changes := changes || jsonb_build_object('assignee', jsonb_build_object('from', o.assignee, 'to', n.assignee));
  END IF;
  IF n.resolution IS DISTINCT FROM o.resolution THEN
    changes := changes || jsonb_build_object('resolution', jsonb_build_object('from', o.resolution, 'to', n.resolution));
  END IF;
  IF n.escalated IS DISTINCT FROM o.escalated THEN
    changes := changes || jsonb_build_object('escalated', jsonb_build_object('from', o.escalated, 'to', n.escalated));
  END IF;
  IF n.tags IS DISTINCT FROM o.tags THEN
    changes := changes || jsonb_build_object('tags', jsonb_build_object('from', to_jsonb(o.tags), 'to', to_jsonb(n.tags)));
  END IF;
  IF changes = '{}' AND p_note IS NULL THEN
    RETURN 'unchanged';
  END IF;

  UPDATE cases c SET status = n.status, severity = n.severity, assignee = n.assignee,
                     resolution = n.resolution, escalated = n.escalated, tags = n.tags,
                     accepting = c.accepting
                                 AND n.status IN ('open', 'acknowledged', 'investigating'),
                     updated = now()
  WHERE c.id = p_case;
  INSERT INTO case_timeline (case_id, kind, actor, data)
  VALUES (p_case, 'case_updated', p_actor,
          jsonb_build_object('changes', changes, 'note', p_note));
  RETURN 'changed';
END
$$;
