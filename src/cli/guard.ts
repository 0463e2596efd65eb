import type { GuardEntityStatus } from '../guard/guard.ts';
import { createAdminClient } from './adminClient.ts';
import { ADMIN_OPTIONS, parseCommand, UsageError } from './args.ts';
import type { CliIo } from './main.ts';
import { COMMAND_USAGE } from './usage.ts';

interface GuardView {
  replica: string;
  leading: boolean;
  entities: Record<string, GuardEntityStatus>;
}

const showValue = (v: number | null) => (v === null ? '-' : String(Math.round(v * 10_000) / 10_000));

/** `strangler guard status [ENTITY]`: each entity's policy, failures in a row, last action and gates, through the admin API. */
export async function runGuardCommand(args: string[], io: CliIo): Promise<number> {
  const usage = COMMAND_USAGE.guard;
  const { values, positionals } = parseCommand('guard', args, { ...ADMIN_OPTIONS, json: { type: 'boolean' } }, usage);
  const [sub = 'status', entity, ...extra] = positionals;
  if (sub !== 'status') throw new UsageError(`strangler guard: unknown subcommand "${sub}" (the one there is: status).`, usage);
  if (extra.length > 0) throw new UsageError(`strangler guard status: unexpected argument "${extra.join(' ')}".`, usage);
  const client = createAdminClient({ admin: values.admin, token: values.token, env: io.env });
  const view = await client.request<GuardView>('GET', '/admin/guard');
  const rows = Object.entries(view.entities).filter(([e]) => entity === undefined || e === entity);
  if (entity !== undefined && rows.length === 0)
    throw new UsageError(
      `strangler guard status: no entity "${entity}"; there are ${Object.keys(view.entities).join(', ') || 'none'}.`,
      usage,
    );
  if (values.json) {
    io.out(JSON.stringify({ ...view, entities: Object.fromEntries(rows) }, null, 2));
    return 0;
  }
  const lines: string[] = [];
  for (const [name, s] of rows) {
    const last = s.lastAction ? `${s.lastAction.action} (${s.lastAction.reason}) at ${s.lastAction.at}` : 'none';
    lines.push(
      `${name}: ${s.stage}${s.stage === 'canary' ? ` ${s.percent} %` : ''}${s.paused ? ' (paused)' : ''}, policy ${s.policy}${s.dryRun ? ' (dry run)' : ''}, ${s.consecutiveFailures} failed evaluation(s) in a row, last action ${last}`,
    );
    if (s.gates.length === 0) lines.push('  no gates evaluated (gates count from the shadow stage on)');
    for (const g of s.gates)
      lines.push(
        `  ${g.name.padEnd(16)} ${g.state.padEnd(13)} ${showValue(g.value).padStart(10)} / ${g.threshold}${g.note ? `  ${g.note}` : ''}`,
      );
  }
  io.out(lines.join('\n') || 'no entities');
  return 0;
}
