import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { createPgTestDb, type TestDb } from '../harness/db.ts';
import { startEchoUpstream, type EchoUpstream } from '../helpers/echoUpstream.ts';
import { readMetricsDoc } from '../helpers/metricsDoc.ts';
import { seededRandom } from '../helpers/seed.ts';
import { startTestSidecar } from '../helpers/sidecar.ts';

// A running sidecar (the sample spec, a real PostgreSQL event store): GET /metrics on the
// admin port lists every family of docs/metrics.md with its type, and the event-store health
// families carry what the doctor found (the same run /health/event-store answers with).
let db: TestDb;
let store: EventStore;
let upstream: EchoUpstream;
let sidecar: Sidecar;

beforeEach(async () => {
  db = await createPgTestDb('metricsdoc');
  store = await openEventStore({ url: db.url, migrate: true, poolSize: 6 });
  upstream = await startEchoUpstream();
  sidecar = await startTestSidecar({ upstream: upstream.url, store });
}, 60_000);

afterEach(async () => {
  await sidecar?.stop();
  await upstream?.close();
  await store?.close();
  await db?.drop();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${sidecar.adminUrl}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** `# TYPE name type` lines: every family the scrape lists, with or without series. */
const types = (text: string): Map<string, string> =>
  new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as [string, string]));

/** A sample's value (label order as prom-client prints them); undefined when absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('GET /metrics on a running sidecar', () => {
  it('lists every documented family with its documented type, and only strangler_ families', async () => {
    const listed = types(await scrape());
    const missing = readMetricsDoc()
      .families.filter((f) => listed.get(f.name) !== f.type)
      .map((f) => `${f.name} (${f.type}): ${listed.get(f.name) ?? 'not listed'}`);
    expect(missing).toEqual([]);
    expect([...listed.keys()].filter((n) => !n.startsWith('strangler_'))).toEqual([]);
    // The default Node.js metrics are there too, under the same prefix.
    expect(listed.get('strangler_process_resident_memory_bytes')).toBe('gauge');
  });

  it('exports the event-store health check: total events, consistency errors by check, duration', async () => {
    const rand = seededRandom('metrics-endpoint event counts');
    const streams = rand.int(2, 6);
    let events = 0;
    for (let s = 0; s < streams; s++) {
      const n = rand.int(1, 4);
      await store.append(
        `metricsdoc-${s}`,
        Array.from({ length: n }, (_, i) => ({ type: 'Loaded', data: { i } })),
        { expected: 'no_stream' },
      );
      events += n;
    }
    // A planted version gap: stream metricsdoc-0 jumps to version 9 (no projection reads it).
    await store.db.query(
      `INSERT INTO strangler_events (stream_id, stream_version, event_id, event_type, data) VALUES ('metricsdoc-0', 9, gen_random_uuid(), 'Loaded', '{}')`,
    );
    await store.db.query(`UPDATE strangler_streams SET version = 9 WHERE stream_id = 'metricsdoc-0'`);
    events += 1;

    // The first scrape starts the check and does not wait for it; later scrapes show it.
    let text = await scrape();
    await until(
      async () => (sample((text = await scrape()), 'strangler_eventstore_health_check_duration_seconds_count') ?? 0) >= 1,
      'a finished event-store health check on /metrics',
      30_000,
      100,
    );
    expect(sample(text, 'strangler_eventstore_events')).toBe(events);
    expect(sample(text, 'strangler_eventstore_consistency_errors', 'check="stream_versions"')).toBe(1);
    for (const check of ['duplicate_event_ids', 'stream_heads', 'global_positions'])
      expect(sample(text, 'strangler_eventstore_consistency_errors', `check="${check}"`), check).toBe(0);
    expect(sample(text, 'strangler_eventstore_invisible_committed_events')).toBe(0);

    // /health/event-store answers from the same (cached) run: the same count, unhealthy.
    const res = await fetch(`${sidecar.adminUrl}/health/event-store`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { store: { events: number }; findings: { kind: string }[] };
    expect(body.store.events).toBe(events);
    expect(body.findings.map((f) => f.kind)).toContain('version_gap');
  });
});
