import { describeWithPause as describe, type CanaryState } from '../canary/stages.ts';
import type { AuditEntry } from '../canary/stateStore.ts';
import { createAdminClient } from './adminClient.ts';
import { ADMIN_OPTIONS, parseCommand, UsageError } from './args.ts';
import type { CliIo } from './main.ts';
import { COMMAND_USAGE } from './usage.ts';

type StateView = Omit<CanaryState, 'entity'>;
const ACTIONS = ['promote', 'rollback', 'pause', 'resume'];

/**
 * `strangler canary status|set|promote|rollback|pause|resume|audit` through the running
 * sidecar's admin API. Changes need --reason (kept in the audit log with the token's name).
 */
export async function runCanaryCommand(args: string[], io: CliIo): Promise<number> {
  const usage = COMMAND_USAGE.canary;
  const { values, positionals } = parseCommand(
    'canary',
    args,
    {
      ...ADMIN_OPTIONS,
      json: { type: 'boolean' },
      reason: { type: 'string' },
      percent: { type: 'string' },
      stage: { type: 'string' },
      limit: { type: 'string' },
    },
    usage,
  );
  const [sub = 'status', entity, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`strangler canary ${sub}: unexpected argument "${extra.join(' ')}".`, usage);
  const client = createAdminClient({ admin: values.admin, token: values.token, env: io.env });
  const print = (value: unknown, text: string) => io.out(values.json ? JSON.stringify(value, null, 2) : text);

  if (sub === 'status') {
    if (entity !== undefined) {
      const s = await client.request<StateView>('GET', `/admin/canary/${encodeURIComponent(entity)}`);
      print(s, `${entity}: ${describe(s)}, version ${s.version}, since ${s.updatedAt} by ${s.updatedBy}`);
      return 0;
    }
    const { entities } = await client.request<{ entities: Record<string, StateView> }>('GET', '/admin/canary');
    const rows = Object.entries(entities);
    const width = Math.max(6, ...rows.map(([e]) => e.length));
    print(
      { entities },
      [
        `${'ENTITY'.padEnd(width)}  STAGE            CHANGED`,
        ...rows.map(
          ([e, s]) => `${e.padEnd(width)}  ${describe(s).padEnd(16)} ${s.version === 0 ? 'never' : `${s.updatedAt} by ${s.updatedBy}`}`,
        ),
      ].join('\n'),
    );
    return 0;
  }
  if (sub === 'audit') {
    const query = new URLSearchParams({ limit: values.limit ?? '20', ...(entity !== undefined ? { entity } : {}) });
    const { entries } = await client.request<{ entries: AuditEntry[] }>('GET', `/admin/audit?${query.toString()}`);
    print(
      { entries },
      entries.length === 0
        ? 'no canary changes yet'
        : entries
            .map(
              (e) =>
                `${e.at}  ${e.entity}  ${e.action} by ${e.actor} (${e.source}): ${e.before ? describe(e.before) : 'dual_write'} → ${describe(e.after)}  "${e.reason}"`,
            )
            .join('\n'),
    );
    return 0;
  }
  if (sub !== 'set' && !ACTIONS.includes(sub))
    throw new UsageError(`strangler canary: unknown subcommand "${sub}" (status, set, promote, rollback, pause, resume, audit).`, usage);
  if (entity === undefined)
    throw new UsageError(`strangler canary ${sub} needs an entity, e.g. strangler canary ${sub} orders --reason "…".`, usage);
  if (values.reason === undefined)
    throw new UsageError(
      `strangler canary ${sub} needs --reason TEXT (kept in the audit log), e.g. --reason "shadow clean for a day".`,
      usage,
    );
  const body: Record<string, unknown> = { reason: values.reason };
  if (sub === 'set') {
    if (values.percent === undefined && values.stage === undefined)
      throw new UsageError('strangler canary set needs --percent N or --stage S (dual_write, shadow, canary, complete).', usage);
    if (values.percent !== undefined) {
      const percent = Number(values.percent);
      if (values.percent.trim() === '' || !Number.isFinite(percent))
        throw new UsageError(`strangler canary set: --percent takes a number from 0 to 100, got "${values.percent}".`, usage);
      body['percent'] = percent;
    }
    if (values.stage !== undefined) body['stage'] = values.stage;
  }
  const path = `/admin/canary/${encodeURIComponent(entity)}`;
  const r = await client.request<{ before: StateView; after: StateView; auditId: number }>(
    sub === 'set' ? 'PUT' : 'POST',
    sub === 'set' ? path : `${path}/${sub}`,
    body,
  );
  print(r, `${entity}: ${describe(r.before)} → ${describe(r.after)} (audit entry ${r.auditId}); every replica follows within a second`);
  return 0;
}
