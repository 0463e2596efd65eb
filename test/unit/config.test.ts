import path from 'node:path';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactedConfig, type Config } from '../../src/config/index.ts';
import { interpolate } from '../../src/config/interpolate.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = path.join(ROOT, 'test/unit/fixtures/config');
const UPSTREAM = 'legacy: { upstream: http://127.0.0.1:3000 }\n';

/** Loads YAML text and returns the ConfigError it must throw. */
function failure(text: string, env: Record<string, string | undefined> = {}): ConfigError {
  try {
    loadConfig({ text, env, cwd: ROOT });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the shipped config/strangler.yaml', () => {
  const env = {
    STRANGLER_LEGACY_DB_URL: 'mysql://orders:legacy-pw@127.0.0.1:3306/legacy_orders',
    STRANGLER_EVENTSTORE_URL: 'postgres://strangler:events-pw@127.0.0.1:5432/events',
    STRANGLER_ADMIN_TOKEN: 'ops-token-0123456789',
    STRANGLER_VIEWER_TOKEN: 'viewer-token-0123456789',
  };
  const config = loadConfig({ file: 'config/strangler.yaml', env, cwd: ROOT });

  it('loads with the URLs from the environment', () => {
    expect(config.legacy).toEqual({
      upstream: 'http://127.0.0.1:3000',
      timeoutMs: 30_000,
      unreadyAfterFailures: 5,
      upgrades: true,
      database: { url: 'mysql://orders:legacy-pw@127.0.0.1:3306/legacy_orders' },
    });
    expect(config.eventStore.url).toBe('postgres://strangler:events-pw@127.0.0.1:5432/events');
    expect(config.eventStore.spool.path).toBe(path.join(ROOT, 'data/spool'));
  });

  it('describes the orders service: every write route, both reads, the reconciled columns', () => {
    const orders = config.entities.orders;
    expect(orders?.commands.map((c) => `${c.route} → ${c.event}`)).toEqual([
      'POST /orders → OrderCreated',
      'PATCH /orders/:id → OrderUpdated',
      'POST /orders/:id/items → OrderItemAdded',
      'POST /orders/:id/pay → OrderPaid',
      'POST /orders/:id/cancel → OrderCancelled',
      'DELETE /orders/:id → OrderDeleted',
    ]);
    expect(orders?.commands[0]).toEqual({
      route: 'POST /orders',
      event: 'OrderCreated',
      id: '$.id',
      capture: 'response',
      expectedVersion: 'no_stream',
    });
    expect(orders?.commands[2]?.capture).toBe('request');
    // Every command that changes an order takes legacy's updatedAt from its answer; DELETE answers 204.
    expect(orders?.commands.map((c) => c.responseData)).toEqual([
      undefined,
      ['$.updatedAt'],
      ['$.updatedAt'],
      ['$.updatedAt'],
      ['$.updatedAt'],
      undefined,
    ]);
    expect(orders?.reads.map((r) => r.route)).toEqual(['GET /orders/:id', 'GET /orders']);
    expect(orders?.reads[0]?.handler).toMatch(/examples\/legacy-orders\/reads\/getOrder\.ts$/);
    expect(orders?.reads[1]?.query).toMatchObject({
      table: 'orders',

      order: [
        { column: 'created_at', desc: false },
        { column: 'id', desc: false },
      ],
    });
    expect(orders?.projection).toBe(path.join(ROOT, 'examples/legacy-orders/projections/orders.ts'));
    expect(orders?.reconcile.columns).toEqual({
      id: 'id',
      customer_id: 'customer_id',
      status: 'status',
      total_amount: 'total_amount',
      created_at: 'created_at',
      updated_at: 'updated_at',
    });
    expect(orders?.stream).toBe('orders-{id}');
  });

  it('resolves both admin tokens from the environment', () => {
    expect(config.admin.resolvedTokens.map((t) => [t.name, t.role, t.secret.reveal()])).toEqual([
      ['ops', 'operator', 'ops-token-0123456789'],
      ['view', 'viewer', 'viewer-token-0123456789'],
    ]);
    expect(config.admin.disabledTokens).toEqual([]);
  });
});

describe('defaults', () => {
  it('a file with only legacy.upstream gets the reference defaults', () => {
    const config = loadConfig({ file: path.join(FIXTURES, 'minimal.yaml'), env: {}, cwd: ROOT });
    const expected: Omit<Config, 'admin'> & { admin: Omit<Config['admin'], 'resolvedTokens'> } = {
      server: { host: '0.0.0.0', port: 8080, bodyLimitBytes: 10_485_760, maxHeaderBytes: 16_384, actorHeader: 'x-user-id' },
      admin: {
        host: '0.0.0.0',
        port: 9090,
        tokens: [
          { name: 'ops', role: 'operator', env: 'STRANGLER_ADMIN_TOKEN' },
          { name: 'view', role: 'viewer', env: 'STRANGLER_VIEWER_TOKEN' },
        ],
        gcMetrics: false,
        disabledTokens: [
          { name: 'ops', env: 'STRANGLER_ADMIN_TOKEN' },
          { name: 'view', env: 'STRANGLER_VIEWER_TOKEN' },
        ],
      },
      legacy: { upstream: 'http://127.0.0.1:3000', timeoutMs: 30_000, unreadyAfterFailures: 5, upgrades: true, database: { url: null } },
      eventStore: {
        url: 'embedded',
        maxRetries: 3,
        retryBackoffMs: 200,
        appendTimeoutMs: 250,
        spool: { path: path.join(ROOT, 'data/spool') },
        snapshotInterval: 100,
        migrateOnStart: true,
        appendGroups: { maxInFlight: 2, maxAppends: 64, maxEventsPerAppend: 100 },
      },
      projections: { workers: 2, batchSize: 50, maxBatchSize: 10_000, failureStrategy: 'pause_and_alert' },
      reconciliation: {
        schedule: '0 */6 * * *',
        checksumAlgorithm: 'sha256',
        toleranceDriftPercent: 0,
        chunkSize: 1000,
        targetChunkMs: 500,
        maxRowsPerSecond: 0,
        statementTimeoutMs: 30000,
        pauseWhenThreadsRunning: 0,
        graceMs: 2000,
        maxSamples: 20,
        prefilter: 'auto',
        maxPendingLagMs: 60000,
      },
      canary: {
        steps: [10, 25, 50, 100],
        stickyKey: { source: 'header', name: 'x-user-id' },
        overrideHeader: false,
        sourceHeader: false,
        readTimeoutMs: 250,
        maxListLagMs: 1000,
        shadow: {
          sampleRate: 0.1,
          maxConcurrent: 16,
          maxDeferMs: 50,
          timeoutMs: 1000,
          noiseSampleRate: 0.05,
          maxBodyBytes: 1_048_576,
          maxSamples: 50,
        },
      },
      rollback: {
        intervalMs: 5000,
        threshold: 3,
        policy: 'rollback',
        projectionLagMs: 5000,
        stateMismatchRate: 0.01,
        errorRate: 0.05,
        minSamples: 100,
        maxSpoolDepth: 1000,
        maxLatencyRatio: 1.5,
        windowMs: 60000,
        maxReportAgeMs: null,
        dryRun: false,
        promotion: { enabled: false, stableMinutes: 30 },
        webhook: { url: null, secretEnv: null, timeoutMs: 5000, retries: 3 },
      },
      entities: {},
      warnings: [],
    };
    const { resolvedTokens, ...admin } = config.admin;
    expect({ ...config, admin }).toEqual(expected);
    expect(resolvedTokens).toEqual([]);
  });

  it('an entity written as {} gets its tables, key, stream and projection from its name', () => {
    const config = loadConfig({ text: `${UPSTREAM}entities: { invoices: {} }\n`, env: {}, cwd: ROOT });
    expect(config.entities.invoices).toEqual({
      stream: 'invoices-{id}',
      legacy: { table: 'invoices', key: 'id' },
      readModel: { table: 'invoices', key: 'id' },
      projection: 'row',
      redact: [],
      commands: [],
      reads: [],
      reconcile: { columns: 'all', rules: {} },
    });
  });

  it('a command gets capture request and expectedVersion any', () => {
    const config = loadConfig({
      text: `${UPSTREAM}entities: { orders: { commands: [{ route: "POST /orders/:id/pay", event: OrderPaid }] } }\n`,
      env: {},
    });
    expect(config.entities.orders?.commands).toEqual([
      { route: 'POST /orders/:id/pay', event: 'OrderPaid', capture: 'request', expectedVersion: 'any' },
    ]);
  });

  it('relative paths written in a file are relative to the file; defaults to the working directory', () => {
    const config = loadConfig({ file: path.join(FIXTURES, 'paths.yaml'), env: {}, cwd: '/srv/app' });
    expect(config.eventStore.url).toBe(`embedded:${path.join(FIXTURES, 'store')}`);
    expect(config.eventStore.spool.path).toBe(path.join(FIXTURES, 'spool'));
    expect(config.entities.orders?.projection).toBe(path.join(FIXTURES, 'projections/orders.ts'));
    expect(config.entities.orders?.reads[0]?.handler).toBe(path.join(ROOT, 'test/unit/fixtures/reads/getOrder.ts'));
    const minimal = loadConfig({ file: path.join(FIXTURES, 'minimal.yaml'), env: {}, cwd: '/srv/app' });
    expect(minimal.eventStore.spool.path).toBe('/srv/app/data/spool');
  });
});

describe('invalid configuration', () => {
  it('a missing required field', () => {
    const error = failure('server: { port: 8080 }\n');
    expect(error.code).toBe('invalid_config');
    expect(error.issues).toEqual([{ path: 'legacy.upstream', message: 'required', example: 'upstream: http://127.0.0.1:3000' }]);
    expect(error.message).toBe(
      'Invalid configuration in inline config:\n  - legacy.upstream: required. Example: upstream: http://127.0.0.1:3000',
    );
  });

  it('an empty file lacks only legacy.upstream', () => {
    expect(failure('').issues.map((i) => i.path)).toEqual(['legacy.upstream']);
  });

  it('a value of the wrong type', () => {
    expect(failure(`${UPSTREAM}projections: { batchSize: fifty }\n`).message).toBe(
      'Invalid configuration in inline config:\n' +
        '  - projections.batchSize: expected a positive integer, got "fifty". Example: batchSize: 50',
    );
  });

  it('admin.gcMetrics: true or false', () => {
    expect(loadConfig({ text: `${UPSTREAM}admin: { gcMetrics: true }\n`, env: {}, cwd: ROOT }).admin.gcMetrics).toBe(true);
    expect(failure(`${UPSTREAM}admin: { gcMetrics: sometimes }\n`).message).toBe(
      'Invalid configuration in inline config:\n' +
        '  - admin.gcMetrics: expected true or false, got "sometimes". Example: gcMetrics: false',
    );
  });

  it('append grouping: a negative maxInFlight and an unknown key', () => {
    expect(failure(`${UPSTREAM}eventStore: { appendGroups: { maxInFlight: -1, maxBatch: 5 } }\n`).message).toBe(
      'Invalid configuration in inline config:\n' +
        '  - eventStore.appendGroups.maxInFlight: expected an integer of 0 or more, got -1. Example: maxInFlight: 2\n' +
        '  - eventStore.appendGroups.maxBatch: unknown key. Example: remove it (known keys: maxInFlight, maxAppends, maxEventsPerAppend)',
    );
  });

  it('an unknown key, with the keys that are allowed', () => {
    expect(failure(`${UPSTREAM}canary: { stepz: [10, 50] }\n`).message).toBe(
      'Invalid configuration in inline config:\n' +
        '  - canary.stepz: unknown key. Example: remove it (known keys: steps, stickyKey, overrideHeader, sourceHeader, readTimeoutMs, maxListLagMs, shadow)',
    );
  });

  it('a command route without a method, or with GET', () => {
    const error = failure(
      `${UPSTREAM}entities:\n  orders:\n    commands:\n      - { route: "/orders/:id/pay", event: OrderPaid }\n      - { route: "GET /orders/:id", event: OrderRead }\n`,
    );
    const what = 'expected "METHOD /path/:param" with METHOD one of POST, PUT, PATCH, DELETE';
    expect(error.message).toBe(
      'Invalid configuration in inline config:\n' +
        `  - entities.orders.commands[0].route: ${what}, got "/orders/:id/pay". Example: route: "POST /orders/:id/pay"\n` +
        `  - entities.orders.commands[1].route: ${what}, got "GET /orders/:id". Example: route: "POST /orders/:id/pay"`,
    );
  });

  it('a command whose route has no :id must say where the id is', () => {
    expect(failure(`${UPSTREAM}entities: { orders: { commands: [{ route: "POST /orders", event: OrderCreated }] } }\n`).issues).toEqual([
      {
        path: 'entities.orders.commands[0].id',
        message:
          'required because "POST /orders" has no :id parameter: set id (a JSON path into the response body), ' +
          'or lookup: { column, param|request|response } to find the legacy row by another unique column ' +
          '(the stream id is then the row\'s legacy.key), e.g. lookup: { column: username, response: "$.user.username" }',
        example: 'id: "$.id"',
      },
    ]);
  });

  it('a bad cron expression', () => {
    expect(failure(`${UPSTREAM}reconciliation: { schedule: "61 * * * *" }\n`).issues).toEqual([
      {
        path: 'reconciliation.schedule',
        message: 'expected a cron expression (minute hour day-of-month month day-of-week) like "0 */6 * * *", got "61 * * * *"',
        example: 'schedule: "0 */6 * * *"',
      },
    ]);
  });

  it('reports every bad field at once, in one readable message', () => {
    const text = [
      'server: { port: 70000 }',
      'projections: { batchSize: fifty }',
      'canary: { stepz: [1], steps: [50, 10], stickyKey: { header: x-user-id, cookie: sid } }',
      'legacy: { database: { url: "ftp://legacy" } }',
      'rollback: { policy: panic, stateMismatchRate: 5 }',
      'entities:',
      '  Orders: {}',
      '  orders:',
      '    reads: [{ route: "GET /orders/:id" }]',
      '    reconcile: { columns: [id, "total amount"] }',
    ].join('\n');
    expect(failure(text).message).toBe(
      [
        'Invalid configuration in inline config:',
        '  - server.port: expected a port number from 1 to 65535, got 70000. Example: port: 8080',
        '  - legacy.upstream: required. Example: upstream: http://127.0.0.1:3000',
        '  - legacy.database.url: expected a postgres://, postgresql://, mysql:// or mariadb:// URL, got "ftp://legacy". Example: url: mysql://orders@127.0.0.1:3306/legacy_orders',
        '  - projections.batchSize: expected a positive integer, got "fifty". Example: batchSize: 50',
        '  - canary.steps: expected a rising list of percentages from 1 to 100, like [10, 25, 50, 100], got [50, 10]. Example: steps: [10, 25, 50, 100]',
        '  - canary.stickyKey: expected exactly one of header, cookie, param, query or address. Example: stickyKey: { header: x-user-id }',
        '  - canary.stepz: unknown key. Example: remove it (known keys: steps, stickyKey, overrideHeader, sourceHeader, readTimeoutMs, maxListLagMs, shadow)',
        '  - rollback.policy: expected one of rollback, freeze, alert, got "panic". Example: policy: rollback',
        '  - rollback.stateMismatchRate: expected a number from 0 to 1 (0.01 means 1 %), got 5. Example: stateMismatchRate: 0.01',
        '  - entities.Orders: expected an entity name (lowercase letters, digits and _), got "Orders". Example: orders: { legacy: { table: orders, key: id }, projection: row }',
        '  - entities.orders.reads[0]: needs either handler (a module) or query (a table lookup). Example: - { route: "GET /orders/:id", handler: ./reads/getOrder.ts }',
        '  - entities.orders.reconcile.columns[1]: expected a table or column name (letters, digits and _), got "total amount". Example: columns: [id, customer_id, status, total_amount, created_at]',
      ].join('\n'),
    );
  });

  it('cross-field checks: ports, duplicate routes, capture row without a legacy database', () => {
    const text = [
      'server: { port: 9090 }',
      UPSTREAM.trim(),
      'entities:',
      '  orders:',
      '    commands:',
      '      - { route: "POST /orders/:id/pay", event: OrderPaid, capture: row }',
      '      - { route: "POST /orders/:orderId/pay", event: OrderPaidAgain, id: "$.id" }',
      '    reconcile: { columns: [id, status], rules: { note: rtrim } }',
    ].join('\n');
    expect(failure(text).issues).toEqual([
      {
        path: 'entities.orders.reconcile.rules.note',
        message: 'column "note" is not in reconcile.columns, so this rule never applies',
        example: 'customer_id: rtrim',
      },
      { path: 'admin.port', message: 'must differ from server.port (both are 9090)', example: 'port: 9090' },
      {
        path: 'entities.orders.commands[1].route',
        message: '"POST /orders/:orderId/pay" is already routed by entities.orders.commands[0]',
        example: 'route: "POST /orders/:id/pay"',
      },
      {
        path: 'entities.orders.commands[0].capture',
        message: 'capture: row reads the legacy row back, so legacy.database.url must be set',
        example: 'capture: response',
      },
    ]);
  });

  it('projection: of:ENTITY must name another entity with a projection of its own', () => {
    const text = [
      UPSTREAM.trim(),
      'entities:',
      '  orders: { projection: row }',
      '  order_items: { projection: "of:order_lines", reconcile: { key: [order_id, sku] } }',
      '  notes: { projection: "of:order_items" }',
    ].join('\n');
    expect(failure(text).issues).toEqual([
      {
        path: 'entities.order_items.projection',
        message: '"of:order_lines" must name another entity with a projection of its own (orders, notes)',
        example: 'projection: ./projections/orders.ts',
      },
      {
        path: 'entities.notes.projection',
        message: '"of:order_items" must name another entity with a projection of its own (orders, order_items)',
        example: 'projection: ./projections/orders.ts',
      },
    ]);
  });

  it('a YAML syntax error names the line and column', () => {
    const error = failure('legacy:\n  upstream: http://127.0.0.1:3000\n  upstream: http://127.0.0.1:3001\n');
    expect(error.message).toBe(
      'Invalid configuration in inline config:\n' +
        '  - line 3, column 3: YAML syntax error: Map keys must be unique. ' +
        'Example: indent nested keys with spaces and quote values containing ": " or " #", like route: "POST /orders/:id/pay"',
    );
  });

  it('an unquoted ${VAR} inside { } is a YAML error with the fix as the example', () => {
    expect(failure('legacy: { database: { url: ${DB_URL} } }\n').issues[0]).toEqual({
      path: 'line 1, column 29',
      message: 'YAML syntax error: Unexpected flow-map-start at node end',
      example: 'quote ${VAR} references inside { }, like database: { url: "${STRANGLER_LEGACY_DB_URL}" }',
    });
  });

  it('a missing file names the file', () => {
    expect(() => loadConfig({ file: 'config/nope.yaml', env: {}, cwd: ROOT })).toThrow(
      `Invalid configuration in config/nope.yaml:\n  - ${path.join(ROOT, 'config/nope.yaml')}: cannot read the file (ENOENT). Example: strangler start --config config/strangler.yaml`,
    );
  });

  it('names the file it read', () => {
    expect(() => loadConfig({ file: 'test/unit/fixtures/config/paths.yaml', text: 'server: {}\n', env: {}, cwd: ROOT })).toThrow(
      /^Invalid configuration in test\/unit\/fixtures\/config\/paths.yaml:\n/,
    );
  });
});

describe('environment', () => {
  it('interpolates ${VAR} and ${VAR:-default} in string values', () => {
    const config = loadConfig({
      text: [
        'legacy:',
        '  upstream: http://${LEGACY_HOST}:${LEGACY_PORT:-3000}',
        '  database: { url: "mysql://app:${DB_PASSWORD}@db:3306/legacy" }',
        'eventStore: { url: "${EVENTS_URL:-embedded}" }',
        'server: { port: "${PORT:-8081}" }',
      ].join('\n'),
      env: { LEGACY_HOST: 'legacy.local', DB_PASSWORD: 's3cret', EVENTS_URL: '' },
    });
    expect(config.legacy).toEqual({
      upstream: 'http://legacy.local:3000',
      timeoutMs: 30_000,
      unreadyAfterFailures: 5,
      upgrades: true,
      database: { url: 'mysql://app:s3cret@db:3306/legacy' },
    });
    expect(config.eventStore.url).toBe('embedded');
    expect(config.server.port).toBe(8081);
  });

  it('$${ is a literal ${', () => {
    expect(interpolate({ a: ['cost: $${PRICE}', '${A}$${B}'] }, { A: 'x' })).toEqual({
      value: { a: ['cost: ${PRICE}', 'x${B}'] },
      issues: [],
    });
  });

  it('a token written into the variable-name field is neither used nor echoed', () => {
    const error = failure(`${UPSTREAM}admin: { tokens: [{ name: ops, role: operator, env: tok_live_9f8e7d6c5b4a }] }\n`);
    expect(error.issues).toEqual([
      {
        path: 'admin.tokens[0].env',
        message: 'expected the NAME of the environment variable holding the token (A-Z, 0-9, _), not ${...} or the token itself',
        example: 'env: STRANGLER_ADMIN_TOKEN',
      },
    ]);
    expect(error.message).not.toContain('tok_live');
  });

  it('a missing variable without a default in a required field names the field and the variable', () => {
    expect(failure('legacy: { upstream: "${LEGACY_URL}" }\n').message).toBe(
      'Invalid configuration in inline config:\n' +
        '  - legacy.upstream: environment variable LEGACY_URL is not set. Example: upstream: http://127.0.0.1:3000',
    );
    expect(failure(`${UPSTREAM}eventStore: { url: "\${EVENTS_URL}" }\n`).message).toContain(
      'eventStore.url: environment variable EVENTS_URL is not set',
    );
  });

  it('STRANGLER_* variables override their fields, even a missing ${VAR} there', () => {
    const config = loadConfig({
      text: 'legacy: { upstream: http://127.0.0.1:3000, database: { url: "${UNSET}" } }\n',
      env: {
        STRANGLER_EVENTSTORE_URL: 'postgres://events@10.0.0.5:5432/events',
        STRANGLER_LEGACY_DB_URL: 'postgres://legacy@10.0.0.6:5432/legacy',
        STRANGLER_LEGACY_UPSTREAM: 'http://127.0.0.1:4000',
        STRANGLER_PUBLIC_PORT: '8181',
        STRANGLER_ADMIN_PORT: '9191',
      },
    });
    expect([config.eventStore.url, config.legacy.database.url, config.legacy.upstream, config.server.port, config.admin.port]).toEqual([
      'postgres://events@10.0.0.5:5432/events',
      'postgres://legacy@10.0.0.6:5432/legacy',
      'http://127.0.0.1:4000',
      8181,
      9191,
    ]);
  });

  it('an override without a file supplies the one required field', () => {
    expect(loadConfig({ text: '', env: { STRANGLER_LEGACY_UPSTREAM: 'http://127.0.0.1:3000' } }).legacy.upstream).toBe(
      'http://127.0.0.1:3000',
    );
  });

  it('a bad override says which variable set it', () => {
    expect(failure(UPSTREAM, { STRANGLER_PUBLIC_PORT: 'eighty' }).message).toBe(
      'Invalid configuration in inline config:\n' +
        '  - server.port: expected a port number from 1 to 65535, got "eighty" (set by STRANGLER_PUBLIC_PORT). Example: port: 8080',
    );
  });
});

describe('secrets', () => {
  const TOKEN = 'tok_live_9f8e7d6c5b4a';

  it('token values never appear in redactedConfig, JSON or inspect output', () => {
    const config = loadConfig({
      text: [
        'admin: { tokens: [{ name: ops, role: operator, env: OPS_TOKEN }] }',
        'legacy: { upstream: http://x, database: { url: "mysql://app:${DB_PW}@db/legacy" } }',
      ].join('\n'),
      env: { OPS_TOKEN: TOKEN, DB_PW: 'db-password-42' },
    });
    expect(config.admin.resolvedTokens[0]?.secret.reveal()).toBe(TOKEN);
    expect(config.admin.resolvedTokens[0]?.secret.matches(TOKEN)).toBe(true);
    expect(config.admin.resolvedTokens[0]?.secret.matches('guess')).toBe(false);
    const redacted = JSON.stringify(redactedConfig(config));
    expect(redacted).not.toContain(TOKEN);
    expect(redacted).not.toContain('db-password-42');
    expect(redacted).toContain('"url":"mysql://app:***@db/legacy"');
    expect(JSON.stringify(config)).not.toContain(TOKEN);
    expect(inspect(config, { depth: 10 })).not.toContain(TOKEN);
    expect(String(config.admin.resolvedTokens[0]?.secret)).toBe('[redacted]');
  });

  it('redactedConfig keeps only the origin of the webhook', () => {
    const config = loadConfig({
      text: `${UPSTREAM}rollback: { webhook: { url: https://hooks.example.com/services/T0/B0/xyzSECRET } }\n`,
      env: {},
    });
    expect(redactedConfig(config).rollback).toMatchObject({ webhook: { url: 'https://hooks.example.com/***' } });
  });

  it('a secret put where the variable name belongs is not echoed in the error', () => {
    const error = failure(`${UPSTREAM}admin: { tokens: [{ name: ops, role: operator, env: "\${STRANGLER_ADMIN_TOKEN}" }] }\n`, {
      STRANGLER_ADMIN_TOKEN: TOKEN,
    });
    expect(error.message).toBe(
      'Invalid configuration in inline config:\n' +
        '  - admin.tokens[0].env: expected the NAME of the environment variable holding the token (A-Z, 0-9, _), not ${...} or the token itself. Example: env: STRANGLER_ADMIN_TOKEN',
    );
    expect(JSON.stringify(error.details)).not.toContain(TOKEN);
  });

  it('URL passwords are masked in error messages', () => {
    const error = failure(`${UPSTREAM.replace('}', ', database: { url: "${DB}" } }')}`, { DB: 'mysqlx://app:hunter2@db/legacy' });
    expect(error.message).not.toContain('hunter2');
    expect(error.issues[0]?.message).toBe(
      'expected a postgres://, postgresql://, mysql:// or mariadb:// URL, got "mysqlx://app:***@db/legacy"',
    );
  });
});
