-- The event store: one append-only log of events and one row per stream (the lock an append takes).
-- Same file on PostgreSQL and embedded PGlite.

CREATE TABLE strangler_streams (
  stream_id   text PRIMARY KEY,
  version     bigint NOT NULL CHECK (version >= 1),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE strangler_events (
  global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream_id       text   NOT NULL,
  stream_version  bigint NOT NULL,
  event_id        uuid   NOT NULL,
  event_type      text   NOT NULL,
  data            jsonb  NOT NULL,
  metadata        jsonb  NOT NULL DEFAULT '{}'::jsonb,
  recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The writing transaction: the global reader follows (transaction_id, global_position)
  -- below the snapshot xmin, so an event that commits late is read late, never skipped.
  transaction_id  xid8   NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT strangler_events_event_id_key UNIQUE (event_id),
  CONSTRAINT strangler_events_stream_version_key UNIQUE (stream_id, stream_version)
);

CREATE INDEX strangler_events_tx_position_idx ON strangler_events (transaction_id, global_position);

-- Events are never updated or deleted.
CREATE FUNCTION strangler_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'strangler_events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'SS003', HINT = 'Publish a corrective event instead of changing a published one.';
END;
$$;

CREATE TRIGGER strangler_events_no_update_delete
  BEFORE UPDATE OR DELETE ON strangler_events
  FOR EACH ROW EXECUTE FUNCTION strangler_events_append_only();

CREATE TRIGGER strangler_events_no_truncate
  BEFORE TRUNCATE ON strangler_events
  FOR EACH STATEMENT EXECUTE FUNCTION strangler_events_append_only();

-- Facts about this store. `epoch` changes when the data lands in a new cluster (dump/restore):
-- transaction ids are only comparable within one epoch, so readers re-base checkpoints then.
CREATE TABLE strangler_store_meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);
