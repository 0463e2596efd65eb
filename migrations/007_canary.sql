-- Canary reads: one row per entity with where its reads stand (stage, percent), and an
-- append-only audit log of every change (who, from where, why, before and after). Every
-- replica follows the state: a change NOTIFYs `strangler_canary`, and replicas also poll.
CREATE TABLE IF NOT EXISTS strangler_canary_state (
  entity       text PRIMARY KEY,
  stage        text NOT NULL CHECK (stage IN ('dual_write', 'shadow', 'canary', 'complete')),
  percent      numeric(5, 2) NOT NULL CHECK (percent >= 0 AND percent <= 100),
  paused       boolean NOT NULL DEFAULT false,
  version      bigint NOT NULL DEFAULT 1,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  updated_by   text NOT NULL
);

CREATE TABLE IF NOT EXISTS strangler_canary_audit (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor   text NOT NULL,
  source  text NOT NULL CHECK (source IN ('api', 'cli', 'guard', 'config')),
  entity  text NOT NULL,
  action  text NOT NULL,
  reason  text NOT NULL,
  before  jsonb,
  after   jsonb NOT NULL,
  gates   jsonb
);
CREATE INDEX IF NOT EXISTS strangler_canary_audit_entity ON strangler_canary_audit (entity, id DESC);
