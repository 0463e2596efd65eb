import { describe, expect, it } from 'vitest';
import { applyChange, CanaryChangeRefused, initialState, type CanaryChange, type CanaryState } from '../../src/canary/stages.ts';

const STEPS = [10, 25, 50, 100];
const ready = { reads: ['GET /orders/:id', 'GET /orders'], handled: ['GET /orders/:id', 'GET /orders'] };
const at = (stage: CanaryState['stage'], percent: number, paused = false): CanaryState => ({
  ...initialState('orders', '2026-12-02T00:00:00Z'),
  stage,
  percent,
  paused,
});
const apply = (s: CanaryState, change: CanaryChange, readiness = ready) => applyChange(s, change, STEPS, readiness);
const refusal = (s: CanaryState, change: CanaryChange, readiness = ready) => {
  try {
    apply(s, change, readiness);
  } catch (err) {
    if (err instanceof CanaryChangeRefused) return { status: err.status, message: err.message };
    throw err;
  }
  throw new Error('the change was accepted');
};

describe('canary stages: what a change leads to, and what is refused with its reason', () => {
  it('promote walks dual_write → shadow → 10 → 25 → 50 → complete, then refuses', () => {
    let s = at('dual_write', 0);
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      s = { ...s, ...apply(s, { action: 'promote' }) };
      seen.push(`${s.stage}:${s.percent}`);
    }
    expect(seen).toEqual(['shadow:0', 'canary:10', 'canary:25', 'canary:50', 'complete:100']);
    expect(refusal(s, { action: 'promote' })).toEqual({ status: 409, message: expect.stringMatching(/complete.*no next step/) as string });
  });

  it('set by percent picks the stage it means; by stage the percent it means', () => {
    expect(apply(at('shadow', 0), { action: 'set', percent: 10 })).toEqual({ stage: 'canary', percent: 10, paused: false });
    expect(apply(at('canary', 10), { action: 'set', percent: 100 })).toEqual({ stage: 'complete', percent: 100, paused: false });
    expect(apply(at('canary', 50), { action: 'set', percent: 0 })).toEqual({ stage: 'shadow', percent: 0, paused: false });
    expect(apply(at('shadow', 0), { action: 'set', stage: 'canary' })).toEqual({ stage: 'canary', percent: 10, paused: false });
    expect(apply(at('canary', 25), { action: 'set', stage: 'dual_write' })).toEqual({ stage: 'dual_write', percent: 0, paused: false });
    expect(apply(at('shadow', 0), { action: 'set', stage: 'canary', percent: 12.5 })).toEqual({
      stage: 'canary',
      percent: 12.5,
      paused: false,
    });
  });

  it.each([
    [{ action: 'set', percent: 140 }, /percent must be a number from 0 to 100/],
    [{ action: 'set', percent: -1 }, /percent must be a number from 0 to 100/],
    [{ action: 'set', percent: 10.001 }, /at most two decimals/],
    [{ action: 'set' }, /Give stage, percent or both/],
    [{ action: 'set', stage: 'canary', percent: 100 }, /canary takes a percent above 0 and below 100/],
    [{ action: 'set', stage: 'shadow', percent: 10 }, /shadow means 0 %/],
  ] as [CanaryChange, RegExp][])('bad input %j is a 400 naming the problem', (change, message) => {
    const r = refusal(at('shadow', 0), change);
    expect(r.status).toBe(400);
    expect(r.message).toMatch(message);
  });

  it('reads from the read model need a handler for every read route, and at least one read route', () => {
    const partial = { reads: ready.reads, handled: ['GET /orders/:id'] };
    expect(refusal(at('dual_write', 0), { action: 'promote' }, partial).message).toBe(
      'shadow needs a read handler for every read route of orders; none can answer GET /orders yet.',
    );
    expect(refusal(at('shadow', 0), { action: 'set', percent: 10 }, { reads: [], handled: [] }).message).toMatch(
      /orders has no read routes \(entities\.orders\.reads\)/,
    );
    // Going back to dual_write needs nothing.
    expect(apply(at('canary', 10), { action: 'set', stage: 'dual_write' }, { reads: [], handled: [] }).stage).toBe('dual_write');
  });

  it('pause holds the step: promote and set are refused until resume; rollback still goes through', () => {
    const paused = at('canary', 25, true);
    expect(refusal(paused, { action: 'promote' }).message).toMatch(/orders is paused.*resume it before you promote it/);
    expect(refusal(paused, { action: 'set', percent: 50 }).message).toMatch(/resume it before you change it/);
    expect(apply(paused, { action: 'rollback' })).toEqual({ stage: 'shadow', percent: 0, paused: true });
    expect(apply(paused, { action: 'resume' })).toEqual({ stage: 'canary', percent: 25, paused: false });
    expect(refusal(at('canary', 25), { action: 'resume' }).message).toBe('orders is not paused.');
    expect(refusal(paused, { action: 'pause' }).message).toBe('orders is already paused.');
  });

  it('a change to where it already is, or a rollback with nothing on the read model, is refused', () => {
    expect(refusal(at('canary', 10), { action: 'set', percent: 10 }).message).toBe('orders is already at canary 10 %.');
    expect(refusal(at('dual_write', 0), { action: 'rollback' }).message).toMatch(/nothing to roll back/);
  });
});
