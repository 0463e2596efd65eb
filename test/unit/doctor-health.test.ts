import { describe, expect, it } from 'vitest';
import { createEventStoreHealth, type DoctorReport } from '../../src/doctor/index.ts';

// The cache in front of the doctor: probes get a report up to ttlMs old; the metrics scrape
// passes a longer maxAgeMs and so runs the checks less often.
describe('createEventStoreHealth', () => {
  it('runs again once the report is older than ttlMs, or than the maxAgeMs a caller passes', async () => {
    let clock = 0;
    let runs = 0;
    const health = createEventStoreHealth({
      run: async () => ({ healthy: true, run: ++runs }) as unknown as DoctorReport,
      ttlMs: 30_000,
      now: () => clock,
    });
    await health(300_000);
    expect(runs).toBe(1);
    clock = 60_000;
    expect((await health(300_000)).ageMs).toBe(60_000); // the scrape accepts it
    expect(runs).toBe(1);
    await health(); // a probe does not
    expect(runs).toBe(2);
    clock = 60_000 + 299_999;
    await health(300_000);
    expect(runs).toBe(2);
    clock = 60_000 + 300_000;
    await health(300_000);
    expect(runs).toBe(3);
  });
});
