import { runnerSettings } from '../projections/runner/settings.ts';
import os from 'node:os';
import { loadConfig } from '../config/index.ts';
import type { Config } from '../config/schema.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { openEventStore, type EventStore } from '../eventstore/index.ts';
import { createLogger } from '../logging/logger.ts';
import { loadProjections } from '../projections/registry.ts';
import { UnknownProjectionError } from '../projections/runner/errors.ts';
import { resumeProjection, skipFailedEvent } from '../projections/runner/operations.ts';
import { rebuildProjection } from '../projections/runner/rebuild.ts';
import { projectionStatus, type ProjectionStatus } from '../projections/runner/status.ts';
import { createProjectionWorkers, runnerOwnerId } from '../projections/runner/workers.ts';
import type { CliIo } from './main.ts';
import { untilSignal } from './start.ts';

export interface ProjectionsCliOptions {
  args: string[];
  configFile?: string;
  url?: string;
  json?: boolean;
  io: CliIo;
  /** Resolves when the foreground runners should stop (default: SIGINT/SIGTERM). */
  until?: () => Promise<unknown>;
}

const SUBCOMMANDS = 'run, status, resume NAME, skip NAME, rebuild NAME';

/**
 * `strangler projections run|status|resume NAME|skip NAME|rebuild NAME`. The store comes
 * from --url, else STRANGLER_EVENTSTORE_URL, else the config file. `run` and `rebuild` need
 * the config (it names the projection modules); the others only need the store.
 */
export async function runProjections(o: ProjectionsCliOptions): Promise<number> {
  const [sub, name, ...extra] = o.args;
  const needsName = sub === 'resume' || sub === 'skip' || sub === 'rebuild';
  if (
    !sub ||
    !['run', 'status', 'resume', 'skip', 'rebuild'].includes(sub) ||
    (needsName && !name) ||
    (!needsName && name) ||
    extra.length
  ) {
    throw new StranglerError(
      'usage',
      `Usage: strangler projections ${SUBCOMMANDS} [--config FILE] [--url URL]${sub ? ` (got "${o.args.join(' ')}")` : ''}. Example: strangler projections resume orders`,
    );
  }
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
      case 'resume': {
        await resumeProjection(store.db, name!);
        o.io.out(`projection ${name}: resumed; the failing event is retried by the runner holding the lease`);
        return 0;
      }
      case 'skip': {
        const skipped = await skipFailedEvent(store, name!, `${o.io.env.USER ?? 'operator'}@${os.hostname()}`);
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

async function run(store: EventStore, config: Config, o: ProjectionsCliOptions): Promise<number> {
  const logger = createLogger({ ...(o.io.env.LOG_LEVEL ? { level: o.io.env.LOG_LEVEL } : {}) });
  const projections = await loadProjections(config.entities);
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

/** The status table, then one indented line per failure or rebuild in progress. */
export function formatStatusTable(list: readonly ProjectionStatus[]): string[] {
  const header = ['NAME', 'STATUS', 'VERSION', 'POSITION', 'APPLIED', 'LAG_EVENTS', 'LAG_MS', 'LEASE'];
  const rows = list.map((p) => [
    p.name,
    p.status,
    String(p.version ?? '-'),
    String(p.position),
    String(p.appliedEvents),
    String(p.lagEvents),
    String(p.lagMs),
    p.leaseOwner ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [fmt(header)];
  list.forEach((p, i) => {
    out.push(fmt(rows[i]!));
    if (p.failure)
      out.push(
        `  failing event ${p.failure.eventId} at position ${p.failure.position} (after ${p.failure.retries} retries, ${p.failure.at}): ${p.failure.error}`,
      );
    if (p.failure)
      out.push(
        `  next: fix the handler, then \`strangler projections resume ${p.name}\`, or \`strangler projections skip ${p.name}\` to dead-letter it`,
      );
    if (p.rebuild)
      out.push(
        `  rebuilding v${p.rebuild.version} by ${p.rebuild.owner ?? '-'}: position ${p.rebuild.position}, ${p.rebuild.applied} applied, ${p.rebuild.remaining} remaining`,
      );
  });
  return out;
}

async function rebuild(store: EventStore, config: Config, name: string, o: ProjectionsCliOptions): Promise<number> {
  const projections = await loadProjections(config.entities);
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
