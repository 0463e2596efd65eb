import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { main, type CliIo } from '../../src/cli/main.ts';

const UPSTREAM = 'legacy: { upstream: http://127.0.0.1:3000 }\n';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strangler-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function load(text: string, opts: { env?: Record<string, string>; requireUpstream?: boolean } = {}) {
  return loadConfig({
    text,
    env: opts.env ?? {},
    ...(opts.requireUpstream === undefined ? {} : { requireUpstream: opts.requireUpstream }),
  });
}

async function cli(argv: string[], env: Record<string, string | undefined> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function writeFile(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('an unset ${VAR} in an optional field', () => {
  it('legacy.database.url: reconciliation is off, with one warning, instead of an error', () => {
    const config = load('legacy: { upstream: http://127.0.0.1:3000, database: { url: "${STRANGLER_LEGACY_DB_URL}" } }\n');
    expect(config.legacy.database.url).toBeNull();
    expect(config.warnings).toEqual([
      'legacy.database.url: environment variable STRANGLER_LEGACY_DB_URL is not set, so reconciliation is off. Set it to turn this on.',
    ]);
  });

  it('capture: row commands are named as off and pass through; the other commands stay', () => {
    const config = load(
      [
        'legacy: { upstream: http://127.0.0.1:3000, database: { url: "${LEGACY_DB}" } }',
        'entities:',
        '  orders:',
        '    commands:',
        '      - { route: "POST /orders", event: OrderCreated, id: "$.id", capture: response }',
        '      - { route: "POST /orders/:id/pay", event: OrderPaid, capture: row }',
      ].join('\n'),
    );
    expect(config.entities.orders?.commands.map((c) => c.route)).toEqual(['POST /orders']);
    expect(config.warnings).toEqual([
      'legacy.database.url: environment variable LEGACY_DB is not set, so reconciliation is off, and so is capture: row: ' +
        'POST /orders/:id/pay (entities.orders.commands[1]) pass through without recording an event. Set it to turn this on.',
    ]);
  });

  it('a set variable, or an override, keeps the part on with no warning', () => {
    const text = 'legacy: { upstream: http://127.0.0.1:3000, database: { url: "${LEGACY_DB}" } }\n';
    expect(load(text, { env: { LEGACY_DB: 'mysql://u@127.0.0.1/legacy' } }).warnings).toEqual([]);
    expect(load(text, { env: { STRANGLER_LEGACY_DB_URL: 'mysql://u@127.0.0.1/legacy' } }).legacy.database.url).toBe(
      'mysql://u@127.0.0.1/legacy',
    );
  });

  it('rollback.webhook.url: no webhook, with a warning', () => {
    const config = load(`${UPSTREAM}rollback: { webhook: { url: "\${HOOK_URL}" } }\n`);
    expect(config.rollback.webhook.url).toBeNull();
    expect(config.warnings).toEqual([
      'rollback.webhook.url: environment variable HOOK_URL is not set, so guard actions are not sent to a webhook. Set it to turn this on.',
    ]);
  });

  it('a required field still fails: legacy.upstream when the command proxies', () => {
    expect(() => load('legacy: { upstream: "${UPSTREAM_URL}" }\n')).toThrow(ConfigError);
    expect(() => load('eventStore: { url: memory }\n')).toThrow(/legacy\.upstream: required/);
  });
});

describe('commands that never proxy (requireUpstream: false)', () => {
  it('load a config without legacy.upstream, or with its variable unset', () => {
    expect(load('eventStore: { url: memory }\n', { requireUpstream: false }).eventStore.url).toBe('memory');
    expect(load('legacy: { upstream: "${UPSTREAM_URL}" }\n', { requireUpstream: false }).warnings).toEqual([]);
  });

  it('strangler migrate --config runs on a config that names no upstream', { timeout: 90_000 }, async () => {
    const file = writeFile(
      'no-upstream.yaml',
      'eventStore: { url: memory }\nlegacy: { database: { url: "${STRANGLER_LEGACY_DB_URL}" } }\n',
    );
    const r = await cli(['migrate', '--config', file]);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^event store memory: applied /);
    expect(r.code).toBe(0);
  });

  it('strangler doctor --config runs on a config that names no upstream', { timeout: 90_000 }, async () => {
    const file = writeFile('doctor.yaml', 'eventStore: { url: memory }\n');
    // A fresh in-memory store has no schema: the doctor getting that far shows the config loaded.
    const r = await cli(['doctor', '--config', file]);
    expect(r.err).not.toContain('legacy.upstream');
    expect(r.err).toContain('Apply the schema with `strangler migrate` first.');
  });
});

describe('strangler config check', () => {
  it('fails naming the field and the path when a projection module or read handler does not exist', async () => {
    const file = writeFile(
      'missing-files.yaml',
      [
        UPSTREAM.trim(),
        'entities:',
        '  orders:',
        '    projection: ./projections/nope.ts',
        '    reads:',
        '      - { route: "GET /orders/:id", handler: ./reads/missing.ts }',
      ].join('\n'),
    );
    const r = await cli(['config', 'check', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      [
        `Invalid configuration in ${file}:`,
        `  - entities.orders.projection: file not found: ${path.join(tmp, 'projections/nope.ts')}. Example: projection: ./projections/orders.ts`,
        `  - entities.orders.reads[0].handler: file not found: ${path.join(tmp, 'reads/missing.ts')}. Example: handler: ./reads/getOrder.ts`,
      ].join('\n'),
    );
  });

  it('prints the warnings once, on stderr, and the config still checks', async () => {
    const r = await cli(['config', 'check', '--config', 'config/strangler.yaml']);
    expect(r.code).toBe(0);
    expect(r.err).toBe(
      'warning: legacy.database.url: environment variable STRANGLER_LEGACY_DB_URL is not set, so reconciliation is off. Set it to turn this on.',
    );
  });

  const ENV = {
    STRANGLER_LEGACY_DB_URL: 'mysql://orders:legacy-pw@127.0.0.1:3306/legacy_orders',
    STRANGLER_ADMIN_TOKEN: 'ops-token-0123456789',
  };
  for (const [spec, env] of [
    ['config/strangler.yaml', {}],
    ['config/strangler.yaml', ENV],
    ['examples/legacy-orders/strangler.yaml', {}],
    ['examples/legacy-orders/strangler.yaml', ENV],
  ] as const) {
    it(`prints an effective config that is valid input: ${spec}${Object.keys(env).length ? ' with the environment set' : ''}`, async () => {
      const first = await cli(['config', 'check', '--config', spec], env);
      expect(first.code).toBe(0);
      expect(first.out).not.toContain('legacy-pw');
      expect(first.out).not.toContain('ops-token');
      const file = writeFile('effective.yaml', first.out);
      const again = await cli(['config', 'check', '--config', file], env);
      expect(again.err).toBe('');
      expect(again.code).toBe(0);
      expect(parse(again.out)).toEqual(parse(first.out));
    });
  }
});
