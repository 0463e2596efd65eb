-- Reconciliation: one row per run (its progress, so a crashed run resumes from its last
-- finished chunk, and its report once finished) and the differing keys it found (in a
-- table, not in memory: a badly drifted table can differ on millions of keys).

CREATE TABLE strangler_reconcile_runs (
  run_id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entity           text   NOT NULL,
  status           text   NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
  trigger          text   NOT NULL DEFAULT 'manual',
  config_hash      text   NOT NULL,
  encoding_version int    NOT NULL,
  -- One replica runs an entity at a time: the owner renews heartbeat_at after every chunk;
  -- a run whose heartbeat is stale is taken over (and resumed) by the next one to start.
  owner            text,
  heartbeat_at     timestamptz,
  started_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  -- Upper key of the last finished chunk (JSON array of key values); null = none yet.
  cursor           jsonb,
  chunks           int    NOT NULL DEFAULT 0,
  chunk_size       int,
  legacy_rows      bigint NOT NULL DEFAULT 0,
  read_model_rows  bigint NOT NULL DEFAULT 0,
  matched          bigint NOT NULL DEFAULT 0,
  -- Σ of the first 8 bytes of every row hash (reduced mod 2^64 in the report): the table digests.
  legacy_sum       numeric NOT NULL DEFAULT 0,
  read_model_sum   numeric NOT NULL DEFAULT 0,
  prefiltered_chunks int  NOT NULL DEFAULT 0,
  skipped_chunks   jsonb  NOT NULL DEFAULT '[]'::jsonb,
  active_ms        bigint NOT NULL DEFAULT 0,
  report           jsonb,
  error            text
);

CREATE UNIQUE INDEX strangler_reconcile_runs_one_running ON strangler_reconcile_runs (entity) WHERE status = 'running';
CREATE INDEX strangler_reconcile_runs_entity_idx ON strangler_reconcile_runs (entity, run_id DESC);

CREATE TABLE strangler_reconcile_diffs (
  run_id     bigint NOT NULL REFERENCES strangler_reconcile_runs (run_id) ON DELETE CASCADE,
  -- The key as text (values joined), for ordering and display; `key` keeps the values.
  key_text   text   NOT NULL,
  key        jsonb  NOT NULL,
  class      text   NOT NULL CHECK (class IN ('missing', 'extra', 'differing')),
  -- suspect: seen once; after the re-check: confirmed, pending (its latest event is not
  -- projected yet) or resolved (equal on the second look).
  status     text   NOT NULL DEFAULT 'suspect' CHECK (status IN ('suspect', 'confirmed', 'pending', 'resolved')),
  columns    text[] NOT NULL DEFAULT '{}',
  legacy     jsonb,
  read_model jsonb,
  PRIMARY KEY (run_id, key_text)
);
