import { pathSegments } from './paths.ts';

/**
 * A realistic example for each field of the migration spec, shown after every validation
 * message ("Example: batchSize: 50"). Keys are field paths; `*` stands for any name (an
 * entity, a column, a filter) and `[*]` for any list position. A path with no entry of its
 * own borrows the example of the nearest parent that has one.
 */
export const EXAMPLES: Readonly<Record<string, string>> = {
  '': 'legacy: { upstream: http://127.0.0.1:3000 }',

  server: 'server: { port: 8080, bodyLimitBytes: 10485760 }',
  'server.host': 'host: 0.0.0.0',
  'server.port': 'port: 8080',
  'server.bodyLimitBytes': 'bodyLimitBytes: 10485760',
  'server.maxHeaderBytes': 'maxHeaderBytes: 16384',
  'server.actorHeader': 'actorHeader: x-user-id',
  'server.actor': 'actor: { jwtClaim: username }',
  'server.actor.jwtClaim': 'jwtClaim: username',

  admin: 'admin: { port: 9090, tokens: [{ name: ops, role: operator, env: STRANGLER_ADMIN_TOKEN }] }',
  'admin.host': 'host: 0.0.0.0',
  'admin.port': 'port: 9090',
  'admin.tokens': 'tokens: [{ name: ops, role: operator, env: STRANGLER_ADMIN_TOKEN }]',
  'admin.gcMetrics': 'gcMetrics: false',
  'admin.tokens[*]': '- { name: ops, role: operator, env: STRANGLER_ADMIN_TOKEN }',
  'admin.tokens[*].name': 'name: ops',
  'admin.tokens[*].role': 'role: operator',
  'admin.tokens[*].env': 'env: STRANGLER_ADMIN_TOKEN',

  legacy: 'legacy: { upstream: http://127.0.0.1:3000 }',
  'legacy.upstream': 'upstream: http://127.0.0.1:3000',
  'legacy.timeoutMs': 'timeoutMs: 30000',
  'legacy.unreadyAfterFailures': 'unreadyAfterFailures: 5',
  'legacy.upgrades': 'upgrades: true',
  'legacy.database': 'database: { url: "${STRANGLER_LEGACY_DB_URL}" }',
  'legacy.database.url': 'url: mysql://orders@127.0.0.1:3306/legacy_orders',

  eventStore: 'eventStore: { url: embedded }',
  'eventStore.url': 'url: postgres://strangler@127.0.0.1:5432/events',
  'eventStore.maxRetries': 'maxRetries: 3',
  'eventStore.retryBackoffMs': 'retryBackoffMs: 200',
  'eventStore.appendTimeoutMs': 'appendTimeoutMs: 250',
  'eventStore.spool': 'spool: { path: ./data/spool }',
  'eventStore.spool.path': 'path: ./data/spool',
  'eventStore.snapshotInterval': 'snapshotInterval: 100',
  'eventStore.migrateOnStart': 'migrateOnStart: true',
  'eventStore.appendGroups': 'appendGroups: { maxInFlight: 2, maxAppends: 64, maxEventsPerAppend: 100 }',
  'eventStore.appendGroups.maxInFlight': 'maxInFlight: 2',
  'eventStore.appendGroups.maxAppends': 'maxAppends: 64',
  'eventStore.appendGroups.maxEventsPerAppend': 'maxEventsPerAppend: 100',

  projections: 'projections: { workers: 2, batchSize: 50, failureStrategy: pause_and_alert }',
  'projections.workers': 'workers: 2',
  'projections.batchSize': 'batchSize: 50',
  'projections.maxBatchSize': 'maxBatchSize: 10000',
  'projections.failureStrategy': 'failureStrategy: pause_and_alert',

  reconciliation: 'reconciliation: { schedule: "0 */6 * * *", checksumAlgorithm: sha256 }',
  'reconciliation.schedule': 'schedule: "0 */6 * * *"',
  'reconciliation.checksumAlgorithm': 'checksumAlgorithm: sha256',
  'reconciliation.toleranceDriftPercent': 'toleranceDriftPercent: 0.0',
  'reconciliation.chunkSize': 'chunkSize: 1000',
  'reconciliation.targetChunkMs': 'targetChunkMs: 500',
  'reconciliation.maxRowsPerSecond': 'maxRowsPerSecond: 0',
  'reconciliation.statementTimeoutMs': 'statementTimeoutMs: 30000',
  'reconciliation.pauseWhenThreadsRunning': 'pauseWhenThreadsRunning: 0',
  'reconciliation.graceMs': 'graceMs: 2000',
  'reconciliation.maxSamples': 'maxSamples: 20',
  'reconciliation.prefilter': 'prefilter: auto',
  'reconciliation.maxPendingLagMs': 'maxPendingLagMs: 60000',

  canary: 'canary: { steps: [10, 25, 50, 100], stickyKey: { header: x-user-id } }',
  'canary.steps': 'steps: [10, 25, 50, 100]',
  'canary.stickyKey': 'stickyKey: { header: x-user-id }',
  'canary.stickyKey.header': 'header: x-user-id',
  'canary.stickyKey.cookie': 'cookie: session_id',
  'canary.stickyKey.param': 'param: id',
  'canary.overrideHeader': 'overrideHeader: x-strangler-read',

  rollback: 'rollback: { projectionLagMs: 5000, stateMismatchRate: 0.01 }',
  'rollback.intervalMs': 'intervalMs: 5000',
  'rollback.threshold': 'threshold: 3',
  'rollback.policy': 'policy: rollback',
  'rollback.projectionLagMs': 'projectionLagMs: 5000',
  'rollback.stateMismatchRate': 'stateMismatchRate: 0.01',
  'rollback.errorRate': 'errorRate: 0.05',
  'rollback.minSamples': 'minSamples: 100',
  'rollback.maxSpoolDepth': 'maxSpoolDepth: 1000',
  'rollback.webhook': 'webhook: { url: https://alerts.example.com/strangler }',
  'rollback.webhook.url': 'url: https://alerts.example.com/strangler',
  'rollback.webhook.secretEnv': 'secretEnv: STRANGLER_WEBHOOK_SECRET',
  'rollback.webhook.timeoutMs': 'timeoutMs: 5000',
  'rollback.webhook.retries': 'retries: 3',
  'rollback.maxLatencyRatio': 'maxLatencyRatio: 1.5',
  'rollback.windowMs': 'windowMs: 60000',
  'rollback.maxReportAgeMs': 'maxReportAgeMs: 43200000',
  'rollback.dryRun': 'dryRun: false',
  'rollback.promotion': 'promotion: { enabled: true, stableMinutes: 30 }',
  'rollback.promotion.enabled': 'enabled: true',
  'rollback.promotion.stableMinutes': 'stableMinutes: 30',
  'entities.*.rollback': 'rollback: { policy: alert, dryRun: true }',
  'entities.*.rollback.policy': 'policy: freeze',
  'entities.*.rollback.dryRun': 'dryRun: true',

  entities: 'entities: { orders: { legacy: { table: orders, key: id } } }',
  'entities.*': 'orders: { legacy: { table: orders, key: id }, projection: row }',
  'entities.*.stream': 'stream: "orders-{id}"',
  'entities.*.legacy': 'legacy: { table: orders, key: id }',
  'entities.*.legacy.table': 'table: orders',
  'entities.*.legacy.key': 'key: id',
  'entities.*.readModel': 'readModel: { table: orders, key: id }',
  'entities.*.readModel.table': 'table: orders',
  'entities.*.readModel.key': 'key: id',
  'entities.*.projection': 'projection: ./projections/orders.ts',
  'entities.*.redact': 'redact: [cardNumber]',
  'entities.*.redact[*]': '- cardNumber',
  'entities.*.commands': 'commands: [{ route: "POST /orders/:id/pay", event: OrderPaid }]',
  'entities.*.commands[*]': '- { route: "POST /orders/:id/pay", event: OrderPaid }',
  'entities.*.commands[*].route': 'route: "POST /orders/:id/pay"',
  'entities.*.commands[*].event': 'event: OrderPaid',
  'entities.*.commands[*].id': 'id: "$.id"',
  'entities.*.commands[*].capture': 'capture: response',
  'entities.*.commands[*].data': 'data: [customerId, items]',
  'entities.*.commands[*].root': 'root: $.article',
  'entities.*.commands[*].responseData': 'responseData: ["$.updatedAt"]',
  'entities.*.commands[*].responseData[*]': '- "$.updatedAt"',
  'entities.*.commands[*].expectedVersion': 'expectedVersion: stream_exists',
  'entities.*.commands[*].lookup': 'lookup: { column: slug, param: slug }',
  'entities.*.commands[*].lookup.column': 'column: slug',
  'entities.*.commands[*].lookup.param': 'param: slug',
  'entities.*.commands[*].lookup.request': 'request: "$.article.slug"',
  'entities.*.commands[*].lookup.response': 'response: "$.article.slug"',
  'entities.*.reads': 'reads: [{ route: "GET /orders/:id", handler: ./reads/getOrder.ts }]',
  'entities.*.reads[*]': '- { route: "GET /orders/:id", handler: ./reads/getOrder.ts }',
  'entities.*.reads[*].route': 'route: "GET /orders/:id"',
  'entities.*.reads[*].handler': 'handler: ./reads/getOrder.ts',
  'entities.*.reads[*].query': 'query: { table: orders, filters: { customerId: customer_id } }',
  'entities.*.reads[*].query.table': 'table: orders',
  'entities.*.reads[*].query.filters': 'filters: { customerId: customer_id }',
  'entities.*.reads[*].query.filters.*': 'customerId: customer_id   # or { column: customer_id, pattern: "^[a-z0-9-]+$" }',
  'entities.*.reads[*].query.filters.*.column': 'column: customer_id',
  'entities.*.reads[*].query.filters.*.pattern': 'pattern: "^[A-Za-z0-9-]{1,64}$"',
  'entities.*.reads[*].query.key': 'key: id   # or { column: id, param: id }',
  'entities.*.reads[*].query.key.*': 'key: { column: id, param: id }',
  'entities.*.reads[*].query.fields': 'fields: { id: id, totalAmount: { column: total_amount, type: decimal, scale: 2 } }',
  'entities.*.reads[*].query.fields.*': 'totalAmount: { column: total_amount, type: decimal, scale: 2 }   # or a column name: customer_id',
  'entities.*.reads[*].query.fields.*.column': 'column: total_amount',
  'entities.*.reads[*].query.fields.*.type': 'type: decimal   # string, integer, number, boolean, json, decimal or timestamp',
  'entities.*.reads[*].query.fields.*.scale': 'scale: 2',
  'entities.*.reads[*].query.fields.*.as': 'as: number',
  'entities.*.reads[*].query.fields.*.digits': 'digits: 6',
  'entities.*.reads[*].query.envelope': 'envelope: order',
  'entities.*.reads[*].query.count': 'count: articlesCount',
  'entities.*.reads[*].query.order': 'order: [created_at, id]',
  'entities.*.reads[*].query.order[*]': '- "created_at desc"',
  'entities.*.reads[*].query.limit': 'limit: { param: limit, default: 20, max: 100 }',
  'entities.*.reads[*].query.limit.*': 'limit: { param: limit, default: 20, max: 100 }',
  'entities.*.reads[*].query.offset': 'offset: { param: offset }',
  'entities.*.reads[*].query.offset.*': 'offset: { param: offset }',
  'entities.*.reads[*].query.notFound': 'notFound: { status: 404, body: { error: not_found, message: "Order {id} not found" } }',
  'entities.*.reads[*].query.notFound.*': 'notFound: { status: 404, body: { error: not_found, message: "Order {id} not found" } }',
  'entities.*.reads[*].query.contentType': 'contentType: "application/json; charset=utf-8"',
  'entities.*.reconcile': 'reconcile: { columns: [id, status, total_amount] }',
  'entities.*.reconcile.key': 'key: [order_id, sku]',
  'entities.*.reconcile.key.*': 'key: [order_id, sku]',
  'entities.*.reconcile.columns': 'columns: [id, customer_id, status, total_amount, created_at]',
  'entities.*.reconcile.columns.*': 'total_amount: total',
  'entities.*.reconcile.rules': 'rules: { customer_id: rtrim }',
  'entities.*.reconcile.rules.*': 'customer_id: rtrim',
  'entities.*.reconcile.where': 'where: { legacy: { record_status: { not: deleted } }, readModel: { record_status: { not: deleted } } }',
  'entities.*.reconcile.where.*': 'legacy: { record_status: { not: deleted } }',
  'entities.*.reconcile.where.*.*': 'record_status: { not: deleted }   # or: column: value, column: null, { in: [a, b] }',
  'entities.*.softDelete': 'softDelete: { column: record_status, value: deleted }',
  'entities.*.softDelete.*': 'softDelete: { column: record_status, value: deleted }',
  'entities.*.rowEvents': 'rowEvents: { ArticleArchived: updated }',
  'entities.*.rowEvents.*': 'ArticleArchived: updated   # created, updated or deleted',
};

const PATTERNS = Object.entries(EXAMPLES).map(([pattern, example]) => ({ segments: pathSegments(pattern), example }));

function matches(pattern: readonly string[], path: readonly string[]): boolean {
  if (pattern.length !== path.length) return false;
  return pattern.every((p, i) => {
    const s = path[i] ?? '';
    if (p === '[*]') return s.startsWith('[');
    if (p === '*') return !s.startsWith('[');
    return p === s;
  });
}

/** The example for a field path such as `entities.orders.commands[2].route`. */
export function exampleFor(path: string): string {
  const segments = pathSegments(path);
  for (let n = segments.length; n >= 0; n--) {
    const prefix = segments.slice(0, n);
    const found = PATTERNS.find((p) => matches(p.segments, prefix));
    if (found) return found.example;
  }
  return EXAMPLES[''] ?? '';
}
