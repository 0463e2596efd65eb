import { existsSync } from 'node:fs';
import path from 'node:path';
import { PgState, sqlState } from '../db/executor.ts';
import { DEFAULT_CONFIG_FILE, loadConfig, type Config } from '../config/index.ts';
import { formatReport, formatVerify, runDoctor, SEVERITIES, verifyStream, verifyTargets, type Severity } from '../doctor/index.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { openEventStore } from '../eventstore/index.ts';
import { loadProjections } from '../projections/registry.ts';
import { createLogger } from '../logging/logger.ts';
import { parseCommand } from './args.ts';
import type { CliIo } from './main.ts';
import { DOCTOR_USAGE } from './usage.ts';

/**
 * `strangler doctor` and `strangler doctor verify STREAM`. Exit codes: 0 healthy / equal,
 * 1 findings / different, 2 error (bad usage, bad config, store unreachable, check failed).
 * The store comes from --url, else STRANGLER_EVENTSTORE_URL, else the config's eventStore.url.
 */
export async function runDoctorCommand(args: string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseCommand(
      'doctor',
      args,
      {
        config: { type: 'string', short: 'c' },
        url: { type: 'string' },
        json: { type: 'boolean', default: false },
        'fail-on': { type: 'string', default: 'high' },
        limit: { type: 'string', default: '20' },
        projection: { type: 'string' },
        'no-snapshots': { type: 'boolean', default: false },
      },
      DOCTOR_USAGE,
    );
    const failOn = values['fail-on'] as Severity;
    if (!SEVERITIES.includes(failOn)) throw usage(`--fail-on must be one of ${SEVERITIES.join(', ')} (example: --fail-on medium)`);
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw usage('--limit must be a positive integer (example: --limit 50)');
    const [sub, stream, ...extra] = positionals;
    if (sub !== undefined && sub !== 'verify') throw usage(`Unknown doctor subcommand "${sub}".`);
    if (sub === 'verify' && (!stream || extra.length))
      throw usage('verify takes one stream id (example: strangler doctor verify carts-42)');

    // The config is read when named, or when nothing else names the store. verify needs it:
    // the entities' stream templates and projection modules (their folds) come from it.
    const direct = values.url ?? io.env.STRANGLER_EVENTSTORE_URL;
    const configFile = values.config ?? (!direct && existsSync(path.resolve(DEFAULT_CONFIG_FILE)) ? DEFAULT_CONFIG_FILE : undefined);
    const config: Config | undefined = configFile ? loadConfig({ file: configFile, env: io.env, requireUpstream: false }) : undefined;
    if (sub === 'verify' && !config)
      throw usage(
        `verify needs the config (--config FILE, or ${DEFAULT_CONFIG_FILE} here): the entities' streams and projection modules come from it. Example: strangler doctor verify carts-42 --config strangler.yaml`,
      );
    const url = direct ?? config?.eventStore.url;
    if (!url)
      throw usage(
        `No event store: pass --url, set STRANGLER_EVENTSTORE_URL or --config (no ${DEFAULT_CONFIG_FILE} here). Example: strangler doctor --url postgres://user@127.0.0.1:5432/events`,
      );

    const store = await openEventStore({ url, migrate: false, embeddedDir: path.resolve('data/eventstore'), poolSize: 2 });
    try {
      if (sub === 'verify' && stream && config) {
        const logger = createLogger({ level: io.env.LOG_LEVEL ?? 'warn' });
        const result = await verifyStream(store, store.db, stream, {
          targets: verifyTargets(config.entities, await loadProjections(config.entities)),
          snapshotInterval: config.eventStore.snapshotInterval,
          useSnapshots: !values['no-snapshots'],
          logger,
          ...(values.projection ? { projection: values.projection } : {}),
        });
        if (values.json) io.out(JSON.stringify(result, null, 2));
        else for (const line of formatVerify(result)) io.out(line);
        return result.equal ? 0 : 1;
      }
      const report = await runDoctor(store.db, { failOn, limit });
      if (values.json) io.out(JSON.stringify(report, null, 2));
      else for (const line of formatReport(report)) io.out(line);
      return report.healthy ? 0 : 1;
    } finally {
      await store.close();
    }
  } catch (err) {
    io.err(describe(err));
    return 2;
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (sqlState(err) === PgState.undefinedTable)
    return `${err.message}: is this an event store? Apply the schema with \`strangler migrate\` first.`;
  // Our errors, argument errors and database errors (which carry a SQLSTATE) speak for themselves.
  if (err instanceof StranglerError || sqlState(err) !== undefined) return err.message;
  return err.stack ?? err.message;
}

const usage = (message: string) => new StranglerError('usage', `${message}\n\nUsage:\n${DOCTOR_USAGE}`, { status: 400 });
