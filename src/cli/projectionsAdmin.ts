import type { ProjectionView } from '../admin/projectionRoutes.ts';
import type { ProjectionRow } from '../projections/runner/projectionRow.ts';
import type { SkippedEvent } from '../projections/runner/operations.ts';
import { StranglerError } from '../errors/StranglerError.ts';
import { createAdminClient, type AdminClient } from './adminClient.ts';
import type { CliIo } from './main.ts';
import { formatStatusTable } from './projectionTable.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProjectionsAdminOptions {
  sub: string;
  name: string | undefined;
  json: boolean;
  reason: string | undefined;
  admin: string | undefined;
  token: string | undefined;
  io: CliIo;
  /** Pause between progress polls of a rebuild (default 1 s). */
  pollMs?: number;
}

/** `strangler projections status|pause|resume|skip|rebuild` through the running sidecar's admin API. */
export async function runProjectionsAdmin(o: ProjectionsAdminOptions): Promise<number> {
  const { io } = o;
  const client = createAdminClient({ admin: o.admin, token: o.token, env: io.env });
  if (o.sub === 'status') {
    const { projections } = await client.request<{ projections: ProjectionView[] }>('GET', '/admin/projections');
    if (o.json) io.out(JSON.stringify(projections, null, 2));
    else if (projections.length === 0) io.out('no projections configured on this sidecar');
    else for (const line of formatStatusTable(projections)) io.out(line);
    return 0;
  }
  const name = o.name!;
  const path = `/admin/projections/${encodeURIComponent(name)}`;
  const body = o.reason === undefined ? {} : { reason: o.reason };
  switch (o.sub) {
    case 'pause': {
      const r = await client.request<{ pause: ProjectionRow['pause']; position: number }>('POST', `${path}/pause`, body);
      if (o.json) io.out(JSON.stringify(r, null, 2));
      else
        io.out(
          `projection ${name}: paused by ${r.pause?.by ?? '?'} at position ${r.position}${r.pause?.reason ? ` (${r.pause.reason})` : ''}; ` +
            `events wait in the log until \`strangler projections resume ${name}\``,
        );
      return 0;
    }
    case 'resume': {
      const r = await client.request<{ position: number }>('POST', `${path}/resume`, body);
      if (o.json) io.out(JSON.stringify(r, null, 2));
      else
        io.out(
          `projection ${name}: resumed at position ${r.position}; the runner holding the lease continues from there (a failing event is tried again)`,
        );
      return 0;
    }
    case 'skip': {
      const r = await client.request<{ skipped: SkippedEvent }>('POST', `${path}/skip`, body);
      const s = r.skipped;
      if (o.json) io.out(JSON.stringify(r, null, 2));
      else
        io.out(
          `projection ${name}: event ${s.eventId} (${s.type}, ${s.streamId}, position ${s.position}) moved to strangler_dead_letters; the projection continues after it`,
        );
      return 0;
    }
    case 'rebuild':
      return rebuild(client, name, path, body, o);
    default:
      throw new StranglerError('usage', `Unknown projections subcommand "${o.sub}".`, { status: 400 });
  }
}

/** Starts the rebuild, then follows it (progress lines while it builds) until it switched or failed. */
async function rebuild(client: AdminClient, name: string, path: string, body: object, o: ProjectionsAdminOptions): Promise<number> {
  const started = await client.request<{ version: number }>('POST', `${path}/rebuild`, body);
  o.io.out(`rebuild ${name} v${started.version}: started; the current tables keep serving until the switch`);
  let last = '';
  for (;;) {
    await sleep(o.pollMs ?? 1_000);
    const p = await client.request<ProjectionView>('GET', path);
    const job = p.lastRebuild;
    if (job?.progress) {
      const line = `rebuild ${name}: ${job.progress.phase}, position ${job.progress.position}, ${job.progress.applied} applied, ${job.progress.remaining} remaining`;
      if (line !== last) o.io.out(line);
      last = line;
    }
    // lastRebuild is this sidecar's view; behind a load balancer another replica may answer: then the row decides.
    const finished = job ? job.state !== 'running' : p.rebuild === null;
    if (!finished) continue;
    if (job?.state === 'failed') {
      o.io.err(`rebuild ${name}: failed: ${job.error ?? 'no error recorded'}`);
      return 1;
    }
    o.io.out(`rebuild ${name} v${p.version ?? started.version}: switched to the new tables at position ${p.position}`);
    return 0;
  }
}
