-- The guard (docs/guard.md). Every replica publishes what its read path saw, one row per
-- entity and publish interval, and a heartbeat with its spool depth; the leader sums the
-- rows of live replicas over rollback.windowMs. One replica leads, by a lease row taken
-- over once expired. The last evaluation per entity is kept so every replica can show it,
-- and a rollback's step is kept until an operator's resume lets the guard restore it.
CREATE TABLE IF NOT EXISTS strangler_guard_replicas (
  replica      text PRIMARY KEY,
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  spool_depth  bigint NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS strangler_guard_counts (
  replica        text NOT NULL,
  entity         text NOT NULL,
  at             timestamptz NOT NULL DEFAULT now(),
  reads          bigint NOT NULL DEFAULT 0,
  rm_reads       bigint NOT NULL DEFAULT 0,
  rm_failures    bigint NOT NULL DEFAULT 0,
  compared       bigint NOT NULL DEFAULT 0,
  mismatches     bigint NOT NULL DEFAULT 0,
  -- Counts per fixed latency bucket (src/guard/window.ts), summed bucket by bucket.
  rm_latency     jsonb NOT NULL DEFAULT '[]'::jsonb,
  legacy_latency jsonb NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX IF NOT EXISTS strangler_guard_counts_at ON strangler_guard_counts (at);

CREATE TABLE IF NOT EXISTS strangler_guard_lease (
  name       text PRIMARY KEY,
  owner      text,
  expires_at timestamptz
);
INSERT INTO strangler_guard_lease (name) VALUES ('guard') ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS strangler_guard_status (
  entity     text PRIMARY KEY,
  status     jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS strangler_guard_holds (
  entity       text PRIMARY KEY,
  from_stage   text NOT NULL,
  from_percent numeric(5, 2) NOT NULL,
  at           timestamptz NOT NULL DEFAULT now()
);
