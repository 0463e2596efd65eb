import type http from 'node:http';
import type { Executor } from '../db/executor.ts';
import type { RepairResult } from '../reconcile/repair/repair.ts';
import { summarizeRepair } from '../reconcile/repair/repairSummary.ts';
import { getRun, type RunSummary } from '../reconcile/store/runs.ts';
import { json } from './adminServer.ts';
import { problem, readJsonObject } from './problem.ts';
import { unknownFields } from './routeKit.ts';

/** Repairs from a finished run: plans (apply false) or appends the corrective events. */
export type RepairFn = (run: RunSummary, apply: boolean) => Promise<RepairResult>;

const EXAMPLE = '{"apply": true} (or {"apply": false} for a dry run)';

/**
 * `POST /admin/reconciliations/ID/repair` `{"apply": bool, "entity"?: name}` (operator): the
 * repair of run ID, answered when done with its summary (planned, appended, alreadyThere,
 * skipped with reasons; repairSummary.ts). Dry run unless `apply` is true.
 */
export async function handleRepair(
  opts: { store: Executor; repair?: RepairFn; logger: { info: (o: object, msg: string) => void } },
  req: http.IncomingMessage,
  res: http.ServerResponse,
  id: string,
  token: string,
): Promise<void> {
  const body = await readJsonObject(req, res, EXAMPLE);
  if (!body) return;
  const extra = unknownFields(body, ['apply', 'entity'], EXAMPLE);
  if (extra) return json(res, 400, problem(400, 'bad_request', extra));
  const { apply = false, entity } = body;
  if (typeof apply !== 'boolean') return json(res, 400, problem(400, 'bad_request', `"apply" must be true or false. Example: ${EXAMPLE}`));
  if (!/^[1-9]\d{0,15}$/.test(id))
    return json(
      res,
      400,
      problem(400, 'bad_request', `A run id is a positive integer, got "${id}". Example: /admin/reconciliations/12/repair`),
    );
  if (!opts.repair) return json(res, 404, problem(404, 'not_found', 'Repair is not available on this sidecar (reconciliation is off).'));
  const run = await getRun(opts.store, Number(id));
  if (!run) return json(res, 404, problem(404, 'not_found', `No reconciliation run ${id}; GET /admin/reconciliations lists them.`));
  if (entity !== undefined && entity !== run.entity)
    return json(res, 400, problem(400, 'bad_request', `Run ${id} reconciled ${run.entity}, not ${JSON.stringify(entity)}.`));
  if (run.status !== 'finished')
    return json(
      res,
      409,
      problem(
        409,
        'run_not_finished',
        `Run ${id} is ${run.status}${run.error ? ` (${run.error})` : ''}; repair works from a finished run.`,
      ),
    );
  const result = await opts.repair(run, apply);
  opts.logger.info(
    { token, runId: run.runId, entity: run.entity, apply, counts: result.counts },
    'reconciliation repair from the admin API',
  );
  return json(res, 200, summarizeRepair(result));
}
