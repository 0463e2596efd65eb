import { runnerSettings } from '../projections/runner/settings.ts';
import os from 'node:os';
import { loadConfig } from '../config/index.ts';
import type { Config } from '../config/schema.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { openEventStore, type EventStore } from '../eventstore/index.ts';
import { createLogger } from '../logging/logger.ts';
import { connect } from '../db/connect.ts';
import { loadProjections, type RegisteredProjection } from '../projections/registry.ts';
import { UnknownProjectionError } from '../projections/runner/errors.ts';
import { pauseByOperator, resumeProjection, skipFailedEvent } from '../projections/runner/operations.ts';
import { rebuildProjection } from '../projections/runner/rebuild.ts';
import { projectionStatus } from '../projections/runner/status.ts';
import { createProjectionWorkers, runnerOwnerId } from '../projections/runner/workers.ts';
import { ADMIN_OPTIONS, parseCommand, UsageError } from './args.ts';
import type { CliIo } from './main.ts';
import { formatStatusTable } from './projectionTable.ts';
import { runProjectionsAdmin } from './projectionsAdmin.ts';
import { untilSignal } from './start.ts';
import { COMMAND_USAGE } from './usage.ts';

export interface ProjectionsCliOptions {
  args: string[];
  configFile?: string;
  url?: string;
  json?: boolean;
  /** Why (stored with a pause). */
  reason?: string;
  io: CliIo;
  /** Resolves when the foreground runners should stop (default: SIGINT/SIGTERM). */
  until?: () => Promise<unknown>;
}

const SUBCOMMANDS = ['run', 'status', 'pause', 'resume', 'skip', 'rebuild'];
const NAMED = ['pause', 'resume', 'skip', 'rebuild'];

/**
 * `strangler projections SUB [NAME]`: through the running sidecar's admin API by default;
 * with --config FILE or --url URL against the event store directly (offline). `run` is a
 * foreground runner and always uses the databases.
 */
export async function runProjectionsCommand(args: string[], io: CliIo): Promise<number> {
  const usage = COMMAND_USAGE.projections;
  const { values, positionals } = parseCommand(
    'projections',
    args,
    {
      ...ADMIN_OPTIONS,
      config: { type: 'string', short: 'c' },
      url: { type: 'string' },
      json: { type: 'boolean' },
      reason: { type: 'string' },
    },
    usage,
  );
  const [sub, name, ...extra] = positionals;
  if (!sub) throw new UsageError('strangler projections needs a subcommand.', usage);
  if (!SUBCOMMANDS.includes(sub)) throw new UsageError(`strangler projections: unknown subcommand "${sub}".`, usage);
  if (NAMED.includes(sub) && !name)
    throw new UsageError(`strangler projections ${sub} needs a projection name (example: strangler projections ${sub} orders).`, usage);
  if ((!NAMED.includes(sub) && name) || extra.length)
    throw new UsageError(
      `strangler projections ${sub}: unexpected "${[...(NAMED.includes(sub) ? [] : [name]), ...extra].join(' ')}".`,
      usage,
    );
  // A reason goes with every change: stored with a pause (status shows it), logged by the sidecar for the others.
  if (values.reason !== undefined && !NAMED.includes(sub))
    throw new UsageError(
      '--reason goes with pause, resume, skip or rebuild (example: strangler projections pause orders --reason "bad deploy").',
      usage,
    );
  const offline = sub === 'run' || values.config !== undefined || values.url !== undefined;
  if (offline && (values.admin !== undefined || values.token !== undefined))
    throw new UsageError(
      sub === 'run'
        ? 'projections run uses the databases directly; --admin and --token do not apply.'
        : '--admin/--token (the running sidecar) and --config/--url (the databases directly) do not go together: pick one.',
      usage,
    );
  if (!offline)
    return runProjectionsAdmin({
      sub,
      name,
      json: values.json ?? false,
      reason: values.reason,
      admin: values.admin,
      token: values.token,
      io,
    });
  return runProjections({
    args: positionals,
    ...(values.config !== undefined ? { configFile: values.config } : {}),
    ...(values.url !== undefined ? { url: values.url } : {}),
    ...(values.reason !== undefined ? { reason: values.reason } : {}),
    json: values.json ?? false,
    io,
  });
}

/**
 * The offline forms, against the event store directly. The store comes from --url, else
 * STRANGLER_EVENTSTORE_URL, else the config file. `run` and `rebuild` need the config (it
 * names the projection modules); the others only need the store.
 */
export async function runProjections(o: ProjectionsCliOptions): Promise<number> {
  const [sub, name] = o.args;
  if (!sub || !SUBCOMMANDS.includes(sub) || (NAMED.includes(sub) && !name))
    throw new UsageError(`strangler projections: got "${o.args.join(' ')}".`, COMMAND_USAGE.projections);
  const needsConfig = sub === 'run' || sub === 'rebuild';
  const config =
    needsConfig || !(o.url ?? o.io.env.STRANGLER_EVENTSTORE_URL)
      ? loadConfig({ ...(o.configFile ? { file: o.configFile } : {}), env: o.io.env, requireUpstream: false })
      : null;
  const url = o.url ?? o.io.env.STRANGLER_EVENTSTORE_URL ?? config!.eventStore.url;
  const store = await openEventStore({
    url,
    migrate: config?.eventStore.migrateOnStart ?? false,
    poolSize: (config?.projections.workers ?? 1) + 4,
  });
  try {
    switch (sub) {
      case 'run':
        return await run(store, config!, o);
      case 'status':
        return await status(store, o);
      case 'pause': {
        const row = await pauseByOperator(store.db, name!, operator(o.io), o.reason?.trim() || null);
        o.io.out(
          `projection ${name}: paused by ${row.pause?.by} at position ${row.checkpoint.position}; events wait in the log until \`strangler projections resume ${name}\``,
        );
        return 0;
      }
      case 'resume': {
        const row = await resumeProjection(store.db, name!);
        o.io.out(`projection ${name}: ${resumedLine(row.checkpoint.position)}`);
        return 0;
      }
      case 'skip': {
        const skipped = await skipFailedEvent(store, name!, operator(o.io));
        o.io.out(
          `projection ${name}: event ${skipped.eventId} (${skipped.type}, ${skipped.streamId}, position ${skipped.position}) moved to strangler_dead_letters; the projection continues after it`,
        );
        return 0;
      }
      default:
        return await rebuild(store, config!, name!, o);
    }
  } finally {
    await store.close();
  }
}

export const resumedLine = (position: number) =>
  `resumed at position ${position}; the runner holding the lease continues from there (a failing event is tried again)`;

const operator = (io: CliIo) => `${io.env.USER ?? 'operator'}@${os.hostname()}`;

async function run(store: EventStore, config: Config, o: ProjectionsCliOptions): Promise<number> {
  const logger = createLogger({ ...(o.io.env.LOG_LEVEL ? { level: o.io.env.LOG_LEVEL } : {}) });
  const projections = await loadWithLegacy(config);
  if (projections.length === 0)
    throw new StranglerError(
      'invalid_config',
      'No projections configured: add entities with a projection (row or a module path) to the configuration.',
    );
  const workers = createProjectionWorkers({
    store,
    projections,
    ...runnerSettings(config),
    logger,
  });
  workers.start();
  o.io.out(`projection runners started for ${projections.map((p) => p.module.name).join(', ')} as ${workers.owner}; stop with SIGTERM`);
  await (o.until ?? untilSignal)();
  await workers.stop();
  o.io.out('projection runners stopped');
  return 0;
}

/** The projections, with the legacy table's columns where legacy.database is set (a row projection creates a missing table from them). */
async function loadWithLegacy(config: Config): Promise<RegisteredProjection[]> {
  if (config.legacy.database.url === null) return loadProjections(config.entities);
  const legacy = await connect({ url: config.legacy.database.url, max: 1 });
  try {
    return await loadProjections(config.entities, { legacy });
  } finally {
    await legacy.close();
  }
}

async function status(store: EventStore, o: ProjectionsCliOptions): Promise<number> {
  const list = await projectionStatus(store);
  if (o.json) {
    o.io.out(JSON.stringify(list, null, 2));
    return 0;
  }
  if (list.length === 0) {
    o.io.out('no projections registered yet (start the sidecar or `strangler projections run`)');
    return 0;
  }
  for (const line of formatStatusTable(list)) o.io.out(line);
  return 0;
}

async function rebuild(store: EventStore, config: Config, name: string, o: ProjectionsCliOptions): Promise<number> {
  const projections = await loadWithLegacy(config);
  const found = projections.find((p) => p.module.name === name);
  if (!found)
    throw new UnknownProjectionError(
      name,
      projections.map((p) => p.module.name),
    );
  const { module, upcasters } = found;
  const result = await rebuildProjection({
    store,
    module,
    upcast: (e) => upcasters.upcast(e),
    owner: runnerOwnerId(),
    batchSize: Math.max(config.projections.batchSize, 1000),
    onProgress: (p) =>
      o.io.out(
        `rebuild ${name} v${module.version}: ${p.phase}, position ${p.position}, ${p.applied} applied, ${p.remaining} remaining, ${p.eventsPerSecond} events/s`,
      ),
  });
  o.io.out(
    `rebuild ${name} v${module.version}: switched to the new tables (${Object.values(result.tables).join(', ')}) at position ${result.position}; ${result.applied} events in ${(result.durationMs / 1000).toFixed(1)} s` +
      (result.deadLettered ? `, ${result.deadLettered} dead-lettered events skipped` : ''),
  );
  return 0;
}
