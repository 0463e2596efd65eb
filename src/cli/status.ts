import type { SidecarStatus } from '../admin/statusRoutes.ts';
import { createAdminClient } from './adminClient.ts';
import { ADMIN_OPTIONS, parseCommand, UsageError } from './args.ts';
import type { CliIo } from './main.ts';
import { formatStatusTable } from './projectionTable.ts';
import { COMMAND_USAGE } from './usage.ts';

/** `strangler status`: GET /admin/status of the running sidecar, as one screen or --json. */
export async function runStatusCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand('status', args, { ...ADMIN_OPTIONS, json: { type: 'boolean' } }, COMMAND_USAGE.status);
  if (positionals.length)
    throw new UsageError(`strangler status takes no arguments (got "${positionals.join(' ')}").`, COMMAND_USAGE.status);
  const client = createAdminClient({ admin: values.admin, token: values.token, env: io.env });
  const status = await client.request<SidecarStatus>('GET', '/admin/status');
  if (values.json) io.out(JSON.stringify(status, null, 2));
  else for (const line of formatStatus(status, client.url)) io.out(line);
  return 0;
}

const text = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * The upstream as /readyz reports it. Read defensively: a state string, or an object with a
 * state (and perhaps a URL and failure count); a sidecar that does not report it says so.
 */
export function describeUpstream(u: unknown): string {
  if (u === null || u === undefined) return 'not reported by this sidecar';
  if (typeof u !== 'object') return text(u);
  const o = u as Record<string, unknown>;
  const state = o.state ?? o.status ?? (typeof o.reachable === 'boolean' ? (o.reachable ? 'reachable' : 'unreachable') : undefined);
  const extras = Object.entries(o)
    .filter(([k, v]) => !['state', 'status', 'reachable'].includes(k) && v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k} ${text(v)}`);
  return [text(state ?? 'unknown'), ...(extras.length ? [`(${extras.join(', ')})`] : [])].join(' ');
}

function describeSpool(s: Record<string, unknown> | null): string {
  if (!s) return 'not reported';
  const parts = [`depth ${text(s.depth)}`];
  parts.push(s.halted ? 'drain HALTED' : s.draining ? `draining (${text(s.ratePerSecond)}/s)` : 'idle');
  if (typeof s.drainedTotal === 'number') parts.push(`${s.drainedTotal} drained`);
  if (typeof s.failures === 'number' && s.failures > 0) parts.push(`${s.failures} failures`);
  if (s.lastError) parts.push(`last error: ${text(s.lastError)}`);
  return parts.join(', ');
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

const pct = (rate: number | null) => (rate === null ? '-' : `${+(rate * 100).toFixed(4)} %`);

export function formatStatus(s: SidecarStatus, adminUrl: string): string[] {
  const es = s.eventStore;
  const out = [
    `sidecar ${adminUrl}: ${s.ready ? 'ready' : 'NOT READY'}`,
    `  upstream     ${describeUpstream(s.upstream)}`,
    `  event store  ${es.description}, ${es.reachable ? `head position ${es.headPosition}, reachable` : `UNREACHABLE: ${es.error ?? 'no answer'}`}`,
    `  spool        ${describeSpool(s.spool)}`,
    '',
  ];
  if (s.projections === null) out.push(`projections: unavailable (${s.projectionsError ?? 'no answer'})`);
  else if (s.projections.length === 0) out.push('projections: none configured');
  else out.push(...formatStatusTable(s.projections));
  out.push('');
  if (s.entities.length === 0) out.push('entities: none configured (every route passes through)');
  else
    out.push(
      ...table(
        ['ENTITY', 'STAGE', 'PROJECTION', 'LAST RECONCILIATION'],
        s.entities.map((e) => {
          const r = e.lastReconciliation;
          const last = !r
            ? s.reconciliationsError
              ? `unavailable (${s.reconciliationsError})`
              : 'none yet'
            : `run ${r.runId} ${r.verdict ?? r.status}${r.mismatchRate !== null ? `, mismatch ${pct(r.mismatchRate)}` : ''}` +
              (r.finishedAt ? `, finished ${r.finishedAt}` : '') +
              (r.error ? `: ${r.error}` : '');
          // percent and paused are absent in answers from sidecars older than the canary.
          const stage =
            (e.stage === 'canary' && typeof e.percent === 'number' ? `canary ${e.percent} %` : e.stage) + (e.paused ? ' (paused)' : '');
          return [e.name, stage, e.projection ?? '-', last];
        }),
      ),
    );
  return out;
}
