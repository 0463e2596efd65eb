-- Projections: one row per projection (checkpoint, lease, status, rebuild), the dead-letter
-- table and the snapshot store.

CREATE TABLE strangler_projections (
  name             text PRIMARY KEY,
  version          int    NOT NULL,
  -- Physical read-model tables: logical name -> table the readers query.
  tables           jsonb  NOT NULL DEFAULT '{}'::jsonb,
  -- Global checkpoint: the last applied event, ordered by (transaction_id, position).
  checkpoint_tx    xid8   NOT NULL DEFAULT '0'::xid8,
  checkpoint_pos   bigint NOT NULL DEFAULT 0,
  -- The store epoch the checkpoint belongs to (transaction ids are per cluster).
  epoch            text,
  applied_events   bigint NOT NULL DEFAULT 0,
  status           text   NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'paused')),
  -- Leadership: one runner per projection across replicas, claimed by a conditional UPDATE.
  lease_owner      text,
  lease_expires_at timestamptz,
  -- pause_and_alert: the event that failed and why (the first event after the checkpoint).
  failed_event_id  uuid,
  failed_tx        xid8,
  failed_position  bigint,
  last_error       text,
  failed_at        timestamptz,
  retries          int    NOT NULL DEFAULT 0,
  -- A rebuild in progress: fresh tables filled from position 0 while `tables` keep serving.
  rebuild_version        int,
  rebuild_tables         jsonb,
  rebuild_checkpoint_tx  xid8,
  rebuild_checkpoint_pos bigint,
  rebuild_applied        bigint,
  rebuild_owner          text,
  rebuild_expires_at     timestamptz,
  rebuild_started_at     timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Events an operator chose to skip (`strangler projections skip NAME`): kept, never silently lost.
CREATE TABLE strangler_dead_letters (
  projection     text   NOT NULL,
  event_id       uuid   NOT NULL,
  position       bigint NOT NULL,
  transaction_id xid8   NOT NULL,
  event_type     text,
  stream_id      text,
  error          text   NOT NULL,
  skipped_by     text,
  skipped_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, event_id)
);

CREATE TABLE strangler_snapshots (
  stream_id   text   NOT NULL,
  kind        text   NOT NULL,
  version     bigint NOT NULL,
  state       jsonb  NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, kind)
);
