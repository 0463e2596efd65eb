-- Reconciliation runs the admin API accepts are recorded before they start (`queued`): the
-- answer names their run ids, and a run that fails before its first chunk (the legacy
-- database unreachable) is still listed, as `failed` with its error. A queued run that
-- finds the entity already running elsewhere ends `skipped`, with the reason in `error`.
ALTER TABLE strangler_reconcile_runs DROP CONSTRAINT strangler_reconcile_runs_status_check;
ALTER TABLE strangler_reconcile_runs ADD CONSTRAINT strangler_reconcile_runs_status_check
  CHECK (status IN ('queued', 'running', 'finished', 'failed', 'skipped'));
