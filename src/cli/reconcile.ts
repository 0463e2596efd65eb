import { parseArgs } from 'node:util';
import { StranglerError } from '../errors/StranglerError.ts';
import { createAdminClient } from './adminClient.ts';
import type { CliIo } from './main.ts';
import { RECONCILE_USAGE } from './usage.ts';
import { EXIT, formatReport, formatRepair, outcomeExit, worstExit, type EntityOutcome } from './reconcileFormat.ts';
import { reconcileOffline } from './reconcileOffline.ts';
import { reconcileRemote } from './reconcileRemote.ts';

/** The parsed options of `strangler reconcile`. */
export interface ReconcileArgs {
  entity: string | undefined;
  json: boolean;
  repair: boolean;
  apply: boolean;
  /** --run ID[,ID…]: repair from these runs (each names its entity). */
  runs: number[];
}

const usage = (message: string) =>
  new StranglerError('usage', `strangler reconcile: ${message}\n\nUsage:\n${RECONCILE_USAGE}`, { status: 400 });

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        admin: { type: 'string' },
        token: { type: 'string' },
        entity: { type: 'string' },
        json: { type: 'boolean', default: false },
        repair: { type: 'boolean', default: false },
        apply: { type: 'boolean', default: false },
        run: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    const e = err as { code?: string; message: string };
    const name = /'([^']+)'/.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw usage(`unknown option ${name ?? e.message}`);
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw usage(`unexpected argument ${name ?? e.message}`);
    throw usage(e.message);
  }
}

/**
 * `strangler reconcile`: by default a client of the running sidecar (its admin API, like
 * kubectl); with --config FILE offline against the databases. Prints each entity's report
 * (and repair), every error once, and exits with the worst code (see RECONCILE_USAGE).
 */
export async function runReconcileCommand(args: string[], io: CliIo): Promise<number> {
  const outcomes: EntityOutcome[] = [];
  try {
    const values = parse(args);
    if (values.help) {
      io.out(`Usage:\n${RECONCILE_USAGE}`);
      return 0;
    }
    if (values.apply && !values.repair) throw usage('--apply goes with --repair (example: strangler reconcile --repair --apply).');
    if (values.run !== undefined && !values.repair) throw usage('--run picks the run to repair from; it goes with --repair.');
    if (values.run !== undefined && !/^[1-9]\d*(,[1-9]\d*)*$/.test(values.run))
      throw usage(`--run takes run ids (positive integers, comma-separated), got "${values.run}".`);
    const parsed: ReconcileArgs = {
      entity: values.entity,
      json: values.json,
      repair: values.repair,
      apply: values.apply,
      runs: values.run === undefined ? [] : values.run.split(',').map(Number),
    };
    const emit = (o: EntityOutcome) => {
      outcomes.push(o);
      if (o.error !== null) io.err(`${o.entity}: ${o.error}`);
      if (parsed.json) return;
      if (o.report && !(parsed.runs.length && parsed.repair)) for (const line of formatReport(o.report)) io.out(line);
      if (o.repair) for (const line of formatRepair(o.repair)) io.out(line);
    };
    if (values.config !== undefined) await reconcileOffline(parsed, values.config, io, emit);
    else {
      const client = createAdminClient({ admin: values.admin, token: values.token, env: io.env, timeoutMs: 120_000 });
      await reconcileRemote(parsed, { client, progress: parsed.json ? io.err : io.out }, emit);
    }
    if (parsed.json) io.out(JSON.stringify(outcomes.length === 1 ? outcomes[0] : outcomes, null, 2));
    return worstExit(outcomes.map((o) => outcomeExit(o, parsed.repair)));
  } catch (err) {
    io.err(err instanceof Error ? err.message : String(err));
    // Entities settled before the failure still count (an error is the worst anyway).
    return EXIT.error;
  }
}
export { RECONCILE_USAGE } from './usage.ts';
