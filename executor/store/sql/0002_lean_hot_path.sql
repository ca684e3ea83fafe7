-- The hot path with fewer statements. A profile of the executor under load
-- (perf, pg_stat_statements with track = all) showed PostgreSQL spending its
-- time starting statements, not writing rows: about 55 statements per alert
-- with three steps, 20 of them foreign-key checks (each an SPI query that
-- also locks the referenced row) and most of the rest small lookups inside
-- parry_step_event. This migration:
--
--  1. drops the foreign keys of the tables written per alert and per step.
--     The store's functions are the only writers (docs/case-store.md) and
--     always take the referenced ids from the rows they just wrote or read
--     under a lock, so the checks could never fail; they only cost;
--  2. records a step transition with one statement (a data-modifying CTE
--     writes the step_runs row and its timeline row together), looking at
--     the row again only on the rare paths that explain why nothing was
--     written (replay, already succeeded, no such attempt);
--  3. fences a batch of transitions by reading and share-locking all of its
--     runs in one statement instead of one per transition.
--
-- Answers, guarantees and the timeline are unchanged.

ALTER TABLE alerts DROP CONSTRAINT alerts_case_id_fkey;
ALTER TABLE case_alerts DROP CONSTRAINT case_alerts_case_id_fkey;
ALTER TABLE case_alerts DROP CONSTRAINT case_alerts_alert_id_fkey;
ALTER TABLE alert_entities DROP CONSTRAINT alert_entities_alert_id_fkey;
ALTER TABLE runs DROP CONSTRAINT runs_case_id_fkey;
ALTER TABLE runs DROP CONSTRAINT runs_alert_id_fkey;
ALTER TABLE step_runs DROP CONSTRAINT step_runs_run_id_fkey;
ALTER TABLE case_timeline DROP CONSTRAINT case_timeline_case_id_fkey;

-- One transition of run p_run, whose lease the caller holds (its row read
-- FOR SHARE in this transaction: p_case and p_alert come from it). Answers
-- as parry_step_event.
CREATE FUNCTION parry_step_event_held(
  p_run bigint, p_case bigint, p_alert text, p_kind text, p_step text,
  p_connector text, p_attempt integer, p_inputs jsonb, p_outputs jsonb,
  p_error text, p_retryable boolean, p_next timestamptz)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_key     text := p_alert || ':' || p_step;
  v_attempt integer;
  v_state   text;
  v_kind    text;
BEGIN
  IF p_kind = 'started' THEN
    WITH s AS (
      INSERT INTO step_runs (run_id, step_id, attempt, state, connector, idempotency_key,
                             inputs)
      SELECT p_run, p_step, p_attempt, 'running', p_connector, v_key, p_inputs
      WHERE NOT EXISTS (SELECT 1 FROM step_runs d WHERE d.run_id = p_run
                        AND d.step_id = p_step AND d.state = 'succeeded')
      ON CONFLICT DO NOTHING
      RETURNING 1)
    INSERT INTO case_timeline (case_id, kind, run_id, step_id, attempt, data)
    SELECT p_case, 'step_started', p_run, p_step, p_attempt,
           jsonb_build_object('connector', p_connector, 'inputs', p_inputs,
                              'idempotency_key', v_key)
    FROM s;
    IF FOUND THEN
      RETURN 'ok';
    END IF;
    IF EXISTS (SELECT 1 FROM step_runs d WHERE d.run_id = p_run AND d.step_id = p_step
               AND d.state = 'succeeded') THEN
      RETURN 'already_succeeded';
    END IF;
    RETURN 'replay';
  END IF;

  IF p_kind = 'skipped' THEN
    v_attempt := coalesce(nullif(p_attempt, 0), 1);
    WITH s AS (
      INSERT INTO step_runs (run_id, step_id, attempt, state, connector, idempotency_key,
                             error, finished)
      VALUES (p_run, p_step, v_attempt, 'skipped', p_connector, v_key, p_error, now())
      ON CONFLICT DO NOTHING
      RETURNING 1)
    INSERT INTO case_timeline (case_id, kind, run_id, step_id, attempt, data)
    SELECT p_case, 'step_skipped', p_run, p_step, v_attempt,
           jsonb_build_object('reason', p_error)
    FROM s;
    IF FOUND THEN
      RETURN 'ok';
    END IF;
    RETURN 'replay';
  END IF;

  IF coalesce(p_attempt, 0) = 0 THEN
    SELECT max(s.attempt) INTO v_attempt FROM step_runs s
    WHERE s.run_id = p_run AND s.step_id = p_step;
  ELSE
    v_attempt := p_attempt;
  END IF;

  -- Only an attempt still running may end; the UPDATE's row lock orders two
  -- writers of the same attempt (the second sees it ended and writes nothing).
  IF p_kind = 'succeeded' THEN
    WITH u AS (
      UPDATE step_runs s SET state = 'succeeded', outputs = p_outputs, finished = now()
      WHERE s.run_id = p_run AND s.step_id = p_step AND s.attempt = v_attempt
        AND s.state = 'running'
      RETURNING 1)
    INSERT INTO case_timeline (case_id, kind, run_id, step_id, attempt, data)
    SELECT p_case, 'step_succeeded', p_run, p_step, v_attempt,
           jsonb_build_object('outputs', p_outputs)
    FROM u;
  ELSIF p_kind = 'failed' THEN
    IF p_retryable AND p_next IS NOT NULL THEN
      v_state := 'retrying';
      v_kind := 'step_retried';
    ELSE
      v_state := 'failed';
      v_kind := 'step_failed';
    END IF;
    WITH u AS (
      UPDATE step_runs s SET state = v_state, error = p_error, retryable = p_retryable,
                             next_attempt_at = CASE WHEN v_state = 'retrying' THEN p_next END,
                             finished = now()
      WHERE s.run_id = p_run AND s.step_id = p_step AND s.attempt = v_attempt
        AND s.state = 'running'
      RETURNING 1)
    INSERT INTO case_timeline (case_id, kind, run_id, step_id, attempt, data)
    SELECT p_case, v_kind, p_run, p_step, v_attempt,
           jsonb_build_object('error', p_error, 'retryable', p_retryable,
                              'next_attempt_at',
                              CASE WHEN v_state = 'retrying' THEN parry_ts(p_next) END)
    FROM u;
  ELSE
    RAISE EXCEPTION 'unknown step event kind %', p_kind
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF FOUND THEN
    RETURN 'ok';
  END IF;
  IF EXISTS (SELECT 1 FROM step_runs s WHERE s.run_id = p_run AND s.step_id = p_step
             AND s.attempt = v_attempt) THEN
    RETURN 'replay';
  END IF;
  RETURN 'no_attempt';
END
$$;

CREATE OR REPLACE FUNCTION parry_step_event(
  p_run bigint, p_owner text, p_kind text, p_step text, p_connector text,
  p_attempt integer, p_inputs jsonb, p_outputs jsonb, p_error text,
  p_retryable boolean, p_next timestamptz)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_case  bigint;
  v_alert text;
BEGIN
  -- FOR SHARE: a claimer (FOR UPDATE SKIP LOCKED) cannot take the run over
  -- between this check and the writes.
  SELECT r.case_id, r.alert_id INTO v_case, v_alert FROM runs r
  WHERE r.id = p_run AND r.lease_owner = p_owner
  FOR SHARE;
  IF NOT FOUND THEN
    RETURN 'lease_lost';
  END IF;
  RETURN parry_step_event_held(p_run, v_case, v_alert, p_kind, p_step, p_connector,
                               p_attempt, p_inputs, p_outputs, p_error, p_retryable, p_next);
END
$$;

CREATE OR REPLACE FUNCTION parry_step_events(p_owner text, p_events jsonb) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
  e       jsonb;
  held    jsonb;
  r       jsonb;
  answers text[] := '{}';
BEGIN
  -- Every run of the batch that p_owner holds, share-locked in id order (as
  -- parry_step_event does one at a time): {"<run id>": [case id, alert id]}.
  SELECT coalesce(jsonb_object_agg(h.id::text, jsonb_build_array(h.case_id, h.alert_id)),
                  '{}')
  INTO held
  FROM (SELECT x.id, x.case_id, x.alert_id FROM runs x
        WHERE x.id IN (SELECT DISTINCT (v->>'run')::bigint
                       FROM jsonb_array_elements(p_events) v)
          AND x.lease_owner = p_owner
        ORDER BY x.id
        FOR SHARE) h;
  FOR e IN SELECT x.value FROM jsonb_array_elements(p_events) WITH ORDINALITY x
           ORDER BY x.ordinality LOOP
    r := held->(e->>'run');
    IF r IS NULL THEN
      answers := answers || 'lease_lost'::text;
    ELSE
      answers := answers || parry_step_event_held(
        (e->>'run')::bigint, (r->>0)::bigint, r->>1, e->>'kind', e->>'step',
        e->>'connector', (e->>'attempt')::integer, e->'inputs', e->'outputs', e->>'error',
        (e->>'retryable')::boolean, parry_from_us((e->>'next_us')::bigint));
    END IF;
  END LOOP;
  RETURN answers;
END
$$;

-- ---- Ingest with fewer statements ----
--
-- parry_ingest_one is parry_ingest_alert (same answers, same guarantees)
-- written as four or five statements per alert instead of about twelve: a
-- case is opened together with its run and its case_opened row (one
-- statement), and the alert row, its entities, its case links and its
-- alert_attached rows are written together (one statement). Beyond
-- parry_ingest_alert it can
--   - skip the group lock when the caller took every lock of its batch
--     first (p_lock false: parry_ingest_alerts does, in one order);
--   - lease the runs it creates to p_owner for p_lease_us, at most
--     p_lease_left of them (the run row is written leased, instead of
--     written and then updated).
-- Rows: (outcome, case_id, run_id, leased), one per matching runbook.
CREATE FUNCTION parry_ingest_one(
  p_id text, p_rule_id text, p_rule_title text, p_rule_level text,
  p_group_by jsonb, p_at timestamptz, p_window_start timestamptz,
  p_window_end timestamptz, p_alert jsonb, p_entities jsonb, p_matches jsonb,
  p_lock boolean, p_owner text, p_lease_us bigint, p_lease_left integer)
RETURNS TABLE (outcome text, case_id bigint, run_id bigint, leased boolean)
LANGUAGE plpgsql AS $$
DECLARE
  v_n      integer := jsonb_array_length(p_matches);
  m        jsonb;
  v_case   bigint;
  v_end    timestamptz;
  v_run    bigint;
  v_window bigint;
  v_sev    text;
  v_rb     text;
  v_key    text;
  v_lease  boolean;
  v_left   integer := coalesce(p_lease_left, 0);
  v_until  timestamptz := now() + coalesce(p_lease_us, 0) * interval '1 microsecond';
  v_stored integer;
  v_cases  bigint[] := '{}';
  v_runs   bigint[] := '{}';
  v_out    text[] := '{}';
  v_leased boolean[] := '{}';
BEGIN
  IF v_n = 0 THEN
    INSERT INTO alerts (id, rule_id, rule_title, rule_level, group_by, at,
                        window_start, window_end, alert)
    VALUES (p_id, p_rule_id, p_rule_title, p_rule_level, p_group_by, p_at,
            p_window_start, p_window_end, p_alert)
    ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
      RETURN QUERY SELECT 'duplicate'::text, NULL::bigint, NULL::bigint, false;
      RETURN;
    END IF;
    INSERT INTO alert_entities (kind, value, alert_id, at)
    SELECT DISTINCT e->>0, e->>1, p_id, p_at FROM jsonb_array_elements(p_entities) e
    ON CONFLICT DO NOTHING;
    RETURN QUERY SELECT 'stored'::text, NULL::bigint, NULL::bigint, false;
    RETURN;
  END IF;

  IF EXISTS (SELECT 1 FROM alerts a WHERE a.id = p_id) THEN
    RETURN QUERY SELECT 'duplicate'::text, NULL::bigint, NULL::bigint, false;
    RETURN;
  END IF;

  FOR i IN 0 .. v_n - 1 LOOP
    m := p_matches->i;
    v_rb := m->>'runbook';
    v_key := m->>'group_key';
    v_window := (m->>'window_us')::bigint;
    v_case := NULL;
    v_run := NULL;
    v_lease := false;
    IF v_window > 0 THEN
      -- One writer per group at a time, across replicas: with the lock
      -- held, the SELECT below (a fresh snapshot in READ COMMITTED) sees
      -- any case another transaction opened and committed.
      IF p_lock THEN
        PERFORM pg_advisory_xact_lock(1885430393, hashtext(v_rb || chr(31) || v_key));
      END IF;
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
      v_lease := p_owner IS NOT NULL AND v_left > 0;
      IF v_lease THEN
        v_left := v_left - 1;
      END IF;
      -- The case, its run (leased as a claim would: running, claims 1,
      -- next_attempt_at at the lease's end) and its case_opened row.
      WITH nc AS (
        INSERT INTO cases (runbook, group_key, group_values, severity, accepting,
                           alert_count, first_seen, last_seen, window_end)
        VALUES (v_rb, v_key, coalesce(m->'group', '{}'), v_sev, v_window > 0, 1, p_at, p_at,
                v_end)
        RETURNING cases.id, cases.group_values, cases.severity, cases.window_end),
      nr AS (
        INSERT INTO runs (case_id, runbook, runbook_version, alert_id, state, lease_owner,
                          lease_until, next_attempt_at, claims)
        SELECT nc.id, v_rb, coalesce(m->>'version', ''), p_id,
               CASE WHEN v_lease THEN 'running' ELSE 'pending' END,
               CASE WHEN v_lease THEN p_owner END,
               CASE WHEN v_lease THEN v_until END,
               CASE WHEN v_lease THEN v_until ELSE now() END,
               CASE WHEN v_lease THEN 1 ELSE 0 END
        FROM nc
        RETURNING runs.id),
      nt AS (
        INSERT INTO case_timeline (case_id, kind, run_id, alert_id, data)
        SELECT nc.id, 'case_opened', nr.id, p_id,
               jsonb_build_object('runbook', v_rb, 'version', m->>'version',
                                  'group', nc.group_values, 'severity', nc.severity,
                                  'window_end', parry_ts(nc.window_end))
        FROM nc, nr)
      SELECT nc.id, nr.id INTO v_case, v_run FROM nc, nr;
      v_out := v_out || 'opened'::text;
    END IF;
    v_cases := v_cases || v_case;
    v_runs := v_runs || v_run;
    v_leased := v_leased || v_lease;
  END LOOP;

  -- The alert row once, with its first case; its entities, its case links
  -- and one alert_attached row per case, in match order.
  WITH na AS (
    INSERT INTO alerts (id, rule_id, rule_title, rule_level, group_by, at,
                        window_start, window_end, alert, case_id)
    VALUES (p_id, p_rule_id, p_rule_title, p_rule_level, p_group_by, p_at,
            p_window_start, p_window_end, p_alert, v_cases[1])
    ON CONFLICT (id) DO NOTHING
    RETURNING alerts.id),
  ne AS (
    INSERT INTO alert_entities (kind, value, alert_id, at)
    SELECT DISTINCT e->>0, e->>1, na.id, p_at FROM na, jsonb_array_elements(p_entities) e
    ON CONFLICT DO NOTHING),
  nl AS (
    INSERT INTO case_alerts (case_id, alert_id)
    SELECT DISTINCT u.c, na.id FROM na, unnest(v_cases) u(c)
    ON CONFLICT DO NOTHING),
  nt AS (
    INSERT INTO case_timeline (case_id, kind, alert_id, data)
    SELECT u.c, 'alert_attached', na.id,
           jsonb_build_object('rule_id', p_rule_id, 'rule_title', p_rule_title,
                              'rule_level', p_rule_level, 'at', parry_ts(p_at),
                              'group_by', p_group_by)
    FROM na, unnest(v_cases) WITH ORDINALITY u(c, o)
    ORDER BY u.o)
  SELECT count(*) INTO v_stored FROM na;
  IF v_stored = 0 THEN
    RAISE EXCEPTION 'alert % was stored by a concurrent transaction', p_id
      USING ERRCODE = 'serialization_failure';
  END IF;

  FOR i IN 1 .. v_n LOOP
    outcome := v_out[i];
    case_id := v_cases[i];
    run_id := v_runs[i];
    leased := v_leased[i];
    RETURN NEXT;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION parry_ingest_alert(
  p_id text, p_rule_id text, p_rule_title text, p_rule_level text,
  p_group_by jsonb, p_at timestamptz, p_window_start timestamptz,
  p_window_end timestamptz, p_alert jsonb, p_entities jsonb, p_matches jsonb)
RETURNS TABLE (outcome text, case_id bigint, run_id bigint)
LANGUAGE sql AS $$
  SELECT o.outcome, o.case_id, o.run_id
  FROM parry_ingest_one(p_id, p_rule_id, p_rule_title, p_rule_level, p_group_by, p_at,
                        p_window_start, p_window_end, p_alert, p_entities, p_matches,
                        true, NULL, NULL, 0) o
$$;

-- A batch (see 0001): every group lock first, in one order, then each alert;
-- with p_owner, the first p_max runs created are leased to it. Rows: (idx,
-- outcome, case_id, run_id, leased), idx 1-based.
CREATE FUNCTION parry_ingest_batch(p_alerts jsonb, p_locks jsonb, p_owner text,
                                   p_lease_us bigint, p_max integer)
RETURNS TABLE (idx integer, outcome text, case_id bigint, run_id bigint, leased boolean)
LANGUAGE plpgsql AS $$
DECLARE
  a    jsonb;
  r    record;
  left_ integer := greatest(coalesce(p_max, 0), 0);
BEGIN
  -- Volatile functions in an aggregate's input run in the subquery's order.
  PERFORM count(pg_advisory_xact_lock(1885430393, h))
  FROM (SELECT DISTINCT hashtext(k) AS h FROM jsonb_array_elements_text(p_locks) k
        ORDER BY 1) s;
  FOR i IN 0 .. jsonb_array_length(p_alerts) - 1 LOOP
    a := p_alerts->i;
    FOR r IN SELECT * FROM parry_ingest_one(
        a->>'id', a->>'rule_id', a->>'rule_title', a->>'rule_level', a->'group_by',
        parry_from_us((a->>'at_us')::bigint), parry_from_us((a->>'window_start_us')::bigint),
        parry_from_us((a->>'window_end_us')::bigint), a->'alert', a->'entities',
        a->'matches', false, p_owner, p_lease_us, left_) LOOP
      idx := i + 1;
      outcome := r.outcome;
      case_id := r.case_id;
      run_id := r.run_id;
      leased := r.leased;
      IF r.leased THEN
        left_ := left_ - 1;
      END IF;
      RETURN NEXT;
    END LOOP;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION parry_ingest_alerts(p_alerts jsonb, p_locks jsonb)
RETURNS TABLE (idx integer, outcome text, case_id bigint, run_id bigint)
LANGUAGE sql AS $$
  SELECT b.idx, b.outcome, b.case_id, b.run_id
  FROM parry_ingest_batch(p_alerts, p_locks, NULL, NULL, 0) b
$$;

-- As in 0001, with the leases taken while the runs are written; then what a
-- claim loads about each leased run, read by its keys (a second statement:
-- it must see the rows the first one wrote).
CREATE OR REPLACE FUNCTION parry_ingest_alerts_leased(p_alerts jsonb, p_locks jsonb,
                                                      p_owner text, p_lease_us bigint,
                                                      p_max integer)
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
  v_leased boolean[];
BEGIN
  SELECT array_agg(b.idx ORDER BY b.o), array_agg(b.outcome ORDER BY b.o),
         array_agg(b.case_id ORDER BY b.o), array_agg(b.run_id ORDER BY b.o),
         array_agg(b.leased ORDER BY b.o)
  INTO v_idx, v_out, v_case, v_run, v_leased
  FROM parry_ingest_batch(p_alerts, p_locks, p_owner, p_lease_us, p_max)
       WITH ORDINALITY b(idx, outcome, case_id, run_id, leased, o);
  -- LATERAL ... LIMIT 1: a lookup by key per row, whatever the statistics of
  -- a young table would make the planner choose.
  RETURN QUERY
  SELECT u.i, u.oc, u.c, u.r, x.runbook, x.runbook_version, x.alert_id, x.claims,
         parry_us(x.lease_until),
         CASE WHEN cs.id IS NOT NULL THEN parry_case_json(cs.whole)::text END
  FROM unnest(v_idx, v_out, v_case, v_run, v_leased) WITH ORDINALITY u(i, oc, c, r, l, o)
  LEFT JOIN LATERAL (SELECT x.case_id, x.runbook, x.runbook_version, x.alert_id, x.claims,
                            x.lease_until
                     FROM runs x WHERE x.id = u.r AND u.l LIMIT 1) x ON true
  LEFT JOIN LATERAL (SELECT k.id, k AS whole FROM cases k WHERE k.id = x.case_id LIMIT 1) cs ON true
  ORDER BY u.o;
END
$$;
