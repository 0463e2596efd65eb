-- An operator's pause (`strangler projections pause NAME`): status 'paused' with who paused it,
-- why and when, and no failing event. The runner holding the lease stops applying at its next
-- batch (the checkpoint compare-and-set checks the status) on every replica, until resumed.
ALTER TABLE strangler_projections
  ADD COLUMN paused_by    text,
  ADD COLUMN pause_reason text,
  ADD COLUMN paused_at    timestamptz;
