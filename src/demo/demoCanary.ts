import { CanaryChangeRefused, describeWithPause, type CanaryState } from '../canary/stages.ts';
import type { ChangeRequest, ChangeResult } from '../canary/stateStore.ts';

/** What the demo needs of the sidecar's canary (Sidecar.canary). */
export interface DemoCanary {
  current(entity: string): CanaryState;
  change(req: Omit<ChangeRequest, 'steps' | 'readiness'>): Promise<ChangeResult>;
}

export interface DemoReads {
  /** The entity's stage after the demo's start. */
  state: CanaryState;
  /** Why it is where it is, for the printed lines. */
  why: string;
  /** The sidecar's reason when it refused shadow (no read handler for every read route). */
  refused?: string;
}

/**
 * At demo start the entity's reads go to `shadow` (legacy answers; the read model is compared
 * in the background), as actor `demo`, source config, only while the stored state is the
 * default one nobody has changed (version 0): a stage an operator set survives a restart. A
 * stage the sidecar refuses (no read handler for every read route) leaves it at dual_write,
 * with the sidecar's reason.
 */
export async function startReadsInShadow(canary: DemoCanary, entity: string): Promise<DemoReads> {
  const before = canary.current(entity);
  if (before.version !== 0)
    return {
      state: before,
      why: `left as ${describeWithPause(before)} by ${before.updatedBy} at ${before.updatedAt} (the demo sets shadow only on a fresh data directory)`,
    };
  try {
    const { after } = await canary.change({
      entity,
      change: { action: 'set', stage: 'shadow' },
      actor: 'demo',
      source: 'config',
      reason: 'the demo starts reads in shadow',
      expectedVersion: 0,
    });
    return { state: after, why: 'set by the demo at start' };
  } catch (err) {
    if (!(err instanceof CanaryChangeRefused)) throw err;
    return { state: canary.current(entity), why: 'the sidecar refused shadow', refused: err.message };
  }
}

/** The printed lines: where the entity's reads stand and how to move them (after the export line). */
export function readsLines(entity: string, adminUrl: string, stickyKey: string, reads: DemoReads): string[] {
  const { state, why } = reads;
  const lines = [`Reads of ${entity}: ${describeWithPause(state)} (${why}).`];
  if (reads.refused) lines.push(`  ${reads.refused}`);
  if (state.stage === 'dual_write') {
    lines.push('  Legacy answers every read; no read is compared with the read model.');
    lines.push('  npx strangler canary status');
    return lines;
  }
  lines.push(
    state.stage === 'shadow'
      ? '  Legacy answers every read; the read model answers in the background and the two are compared.'
      : `  The read model answers ${state.percent} % of the keys (${stickyKey}); legacy the rest.`,
    'Watch the comparison, move 10 % of the keys to the read model, and back (after the export line):',
    `  curl -s "${adminUrl}/admin/shadow?entity=${entity}" -H "authorization: Bearer $STRANGLER_ADMIN_TOKEN"`,
    '  npx strangler canary status',
    `  npx strangler canary set ${entity} --percent 10 --reason "shadow matches"`,
    `  npx strangler canary rollback ${entity} --reason "back to shadow"`,
    `  npx strangler canary audit ${entity}`,
  );
  return lines;
}
