import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';
import { startSidecar } from '../../src/sidecar.ts';
import { startEchoUpstream } from '../helpers/echoUpstream.ts';

/**
 * `capture: row` against a real (embedded) PostgreSQL whose key column is an integer: a route
 * id that is not a number makes the row lookup fail with a type error. That is a capture
 * error naming the column and the route, never "event store and spool both failed".
 */

const lines: { level: number; msg: string; reason?: string; entity?: string }[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as (typeof lines)[number]);
      done();
    },
  }),
);
const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strangler-capture-row-'));
afterAll(() => fs.rmSync(spoolDir, { recursive: true, force: true }));

describe('capture: row with a legacy key of another type', () => {
  it(
    'is reported as a capture error naming the column and the route; the client still gets legacy’s answer',
    { timeout: 90_000 },
    async () => {
      const legacyDb = await createPgliteExecutor();
      await legacyDb.exec('CREATE TABLE invoices (id integer PRIMARY KEY, status text); INSERT INTO invoices VALUES (7, $$PAID$$);');
      const upstream = await startEchoUpstream();
      const config = loadConfig({
        text: [
          `legacy: { upstream: "${upstream.url}", database: { url: "postgres://legacy@127.0.0.1:5432/legacy" } }`,
          'eventStore: { url: memory }',
          'entities:',
          '  invoices:',
          '    commands:',
          '      - { route: "POST /invoices/:id/pay", event: InvoicePaid, capture: row }',
        ].join('\n'),
        env: {},
      });
      Object.assign(config.server, { host: '127.0.0.1', port: 0 });
      Object.assign(config.admin, { host: '127.0.0.1', port: 0 });
      config.eventStore.spool.path = spoolDir;
      const sidecar = await startSidecar({ config, logger, legacyDb, spoolFsync: false, schedule: false, projections: false });
      try {
        const good = await fetch(`${sidecar.publicUrl}/invoices/7/pay`, { method: 'POST' });
        expect(good.status).toBe(200);
        const bad = await fetch(`${sidecar.publicUrl}/invoices/abc/pay`, { method: 'POST' });
        expect(bad.status).toBe(200);

        const notCaptured = lines.filter((l) => l.msg.startsWith('command not captured'));
        expect(notCaptured).toHaveLength(1);
        expect(notCaptured[0]).toMatchObject({ entity: 'invoices', reason: 'row_read_failed' });
        expect(notCaptured[0]!.msg).toContain(
          'command not captured (invoices, POST /invoices/:id/pay): capture: row: reading invoices where id = "abc" failed',
        );
        expect(notCaptured[0]!.msg).toContain('(22P02)');
        expect(notCaptured[0]!.msg).toContain('check that column invoices.id holds values like the route');
        expect(lines.some((l) => l.msg.includes('spool both failed'))).toBe(false);

        const metrics = await sidecar.metrics.registry.metrics();
        expect(metrics).toMatch(/strangler_capture_errors_total\{[^}]*entity="invoices"[^}]*reason="row_read_failed"[^}]*\} 1/);
        expect(await sidecar.store.headPosition()).toBe(1); // the good command's event only
      } finally {
        await sidecar.stop();
        await upstream.close();
        await legacyDb.close();
      }
    },
  );
});
