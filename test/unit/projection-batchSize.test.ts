import { describe, expect, it } from 'vitest';
import { createBatchSizer } from '../../src/projections/runner/batchSize.ts';

describe('projection batch size', () => {
  it('grows ×4 per full batch up to the cap while behind', () => {
    const s = createBatchSizer({ base: 50, max: 1000 });
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      seen.push(s.size);
      s.read(s.size, s.size);
      s.committed(1, false);
    }
    expect(seen).toEqual([50, 200, 800, 1000, 1000, 1000, 1000, 1000]);
  });

  it('drops back to the configured size when a batch comes back short (caught up)', () => {
    const s = createBatchSizer({ base: 50, max: 1000 });
    for (let i = 0; i < 5; i++) s.read(s.size, s.size);
    expect(s.size).toBe(1000);
    s.read(3, s.size);
    expect(s.size).toBe(50);
    s.read(0, 50);
    expect(s.size).toBe(50);
  });

  it('drops back to the configured size after a batch in which a handler failed', () => {
    const s = createBatchSizer({ base: 10, max: 640 });
    for (let i = 0; i < 2; i++) s.read(s.size, s.size);
    expect(s.size).toBe(160);
    s.committed(5, true);
    expect(s.size).toBe(10);
  });

  it('shrinks after a batch whose transaction ran longer than maxBatchMs, never below the configured size', () => {
    const s = createBatchSizer({ base: 10, max: 2560, maxBatchMs: 100 });
    for (let i = 0; i < 4; i++) s.read(s.size, s.size); // the batch read was 640, the next would be 2560
    s.committed(250, false);
    expect(s.size).toBe(320);
    s.read(320, 320);
    s.committed(250, false);
    expect(s.size).toBe(160);
    for (let i = 0; i < 5; i++) {
      s.read(s.size, s.size);
      s.committed(250, false);
    }
    expect(s.size).toBe(10);
  });

  it('a cap below the configured size is the configured size', () => {
    const s = createBatchSizer({ base: 500, max: 100 });
    s.read(500, 500);
    expect(s.size).toBe(500);
  });
});
