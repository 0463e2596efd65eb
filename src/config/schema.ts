import { z } from 'zod';
import {
  bool,
  cron,
  databaseUrl,
  eventStoreUrl,
  expected,
  header,
  httpUrl,
  matching,
  nonNegativeInt,
  oneOf,
  percent,
  port,
  positiveInt,
  section,
  text,
} from './fields.ts';
import { commandSchema, entitiesSchema, entitySchema, projectionOwner, readSchema } from './entitySchema.ts';
import { routeShape } from './routes.ts';
import { canarySchema } from './canarySchema.ts';
import { rollbackSchema } from './rollbackSchema.ts';
import { defaultRowRereads } from './deleteRoutes.ts';
import type { Secret } from './secret.ts';
import { DEFAULT_APPEND_GROUPS } from '../eventstore/appendGroups.ts';
import { isCredentialHeader } from '../capture/actor.ts';
import { dataFieldName } from '../capture/jsonPath.ts';

/**
 * The migration spec (config/strangler.yaml). Every default of the product lives here and
 * nowhere else; everything has one except `legacy.upstream`. Objects are strict so a typo
 * (`stepz`) is an error, not a silently ignored setting.
 */

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const ENV_NAME_WHAT = 'the NAME of the environment variable holding the token (A-Z, 0-9, _), not ${...} or the token itself';
const HOST = /^[A-Za-z0-9.:[\]-]+$/;
const CLAIM = /^[A-Za-z_][A-Za-z0-9_:-]*(\.[A-Za-z_][A-Za-z0-9_:-]*)*$/;

const serverSchema = section(
  {
    host: matching(HOST, 'a host name or IP address').default('0.0.0.0'),
    port: port().default(8080),
    bodyLimitBytes: positiveInt().default(10_485_760),
    /** The largest request head (request line and headers) the public port accepts; 431 above it. Node's default. */
    maxHeaderBytes: positiveInt().default(16_384),
    /** Request header naming the acting user, copied into event metadata. Never a credential header. */
    actorHeader: header()
      .default('x-user-id')
      .refine((name) => !isCredentialHeader(name), {
        error: (iss) =>
          `"${String(iss.input)}" carries a credential: its value (a token, a session) would be stored as is in every event's metadata; name a header holding the user's name (e.g. x-user-id), or take the actor from the bearer token: actor: { jwtClaim: username }`,
      }),
    /** The actor from a claim of the `Authorization: Bearer` JWT (decoded, not verified; the token is never stored). */
    actor: section(
      { jwtClaim: matching(CLAIM, 'a JWT claim name like username (user.name for a nested one)') },
      'a mapping with jwtClaim, e.g. { jwtClaim: username }',
    ).optional(),
  },
  'a mapping with port and bodyLimitBytes',
).prefault({});

export const adminTokenSchema = section(
  {
    name: matching(/^[a-z][a-z0-9_-]*$/, 'a token name like ops'),
    role: oneOf(['operator', 'viewer']),
    // Never echo this field's value: a token value put here by mistake must not be printed
    // in the start-up error. loadConfig does not interpolate ${...} in this field either.
    env: z.string({ error: () => `expected ${ENV_NAME_WHAT}` }).regex(ENV_NAME, { error: () => `expected ${ENV_NAME_WHAT}` }),
  },
  'a mapping with name, role and env',
);

export const DEFAULT_ADMIN_TOKENS = [
  { name: 'ops', role: 'operator', env: 'STRANGLER_ADMIN_TOKEN' },
  { name: 'view', role: 'viewer', env: 'STRANGLER_VIEWER_TOKEN' },
] as const;

const adminSchema = section(
  {
    host: matching(HOST, 'a host name or IP address').default('0.0.0.0'),
    port: port().default(9090),
    tokens: z
      .array(adminTokenSchema, expected('a list of tokens'))
      .default(() => DEFAULT_ADMIN_TOKENS.map((t) => ({ ...t })))
      .superRefine((tokens, ctx) => {
        const seen = new Set<string>();
        tokens.forEach((t, i) => {
          if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `token name "${t.name}" is used twice` });
          seen.add(t.name);
        });
      }),
    /**
     * Export strangler_nodejs_gc_duration_seconds (every GC pause, by kind). Off by default: Node
     * builds a performance entry per collection for it, ~12 % of the passthrough's CPU per request
     * (src/metrics/metrics.ts).
     */
    gcMetrics: bool().default(false),
  },
  'a mapping with port and tokens',
).prefault({});

const legacyFields = section(
  {
    /** Required for `start` and `demo`; commands that never proxy load the config with `requireUpstream: false`. */
    upstream: httpUrl(),
    /** Idle time allowed on an upstream request before the sidecar answers 504. */
    timeoutMs: positiveInt().default(30_000),
    /** /readyz answers 503 after this many connection failures to legacy in a row; ready again on the next success. */
    unreadyAfterFailures: positiveInt().default(5),
    /** Tunnel `Upgrade` requests (WebSocket) on passthrough routes; false answers them 501. */
    upgrades: bool().default(true),
    // Optional: reconciliation and `capture: row` need it. An empty value (`${STRANGLER_LEGACY_DB_URL:-}`
    // with the variable unset) means "no legacy database"; an unset `${VAR}` here turns those parts
    // off with a warning instead of stopping the process (optionalFields.ts).
    database: section(
      { url: z.preprocess((v) => (v === '' ? null : v), databaseUrl().nullable()).default(null) },
      'a mapping with url',
    ).prefault({}),
  },
  'a mapping with upstream and database',
);
// An absent legacy section parses as {}, so the message names the field it lacks,
// legacy.upstream, rather than the whole section (the cast: {} lacks the required key).
const legacySchema = legacyFields.prefault({} as z.input<typeof legacyFields>);

const eventStoreSchema = section(
  {
    url: eventStoreUrl().default('embedded'),
    maxRetries: nonNegativeInt().default(3),
    retryBackoffMs: nonNegativeInt().default(200),
    appendTimeoutMs: positiveInt().default(250),
    spool: section({ path: text('a directory path').default('./data/spool') }, 'a mapping with path').prefault({}),
    snapshotInterval: positiveInt().default(100),
    migrateOnStart: bool().default(true),
    /** Concurrent appends share statements and commits (src/eventstore/appendGroups.ts). */
    appendGroups: section(
      {
        maxInFlight: nonNegativeInt().default(DEFAULT_APPEND_GROUPS.maxInFlight),
        maxAppends: positiveInt().default(DEFAULT_APPEND_GROUPS.maxAppends),
        maxEventsPerAppend: positiveInt().default(DEFAULT_APPEND_GROUPS.maxEventsPerAppend),
      },
      'a mapping with maxInFlight (0 = every append alone), maxAppends and maxEventsPerAppend',
    ).prefault({}),
  },
  'a mapping with url and the append settings',
).prefault({});

const projectionsSchema = section(
  {
    workers: positiveInt().default(2),
    batchSize: positiveInt().default(50),
    /** The cap a batch grows to while a projection is behind (src/projections/runner/batchSize.ts); batchSize when lower. */
    maxBatchSize: positiveInt().default(10_000),
    failureStrategy: oneOf(['pause_and_alert']).default('pause_and_alert'),
  },
  'a mapping with workers, batchSize, maxBatchSize and failureStrategy',
).prefault({});

const reconciliationSchema = section(
  {
    schedule: cron().default('0 */6 * * *'),
    checksumAlgorithm: oneOf(['sha256']).default('sha256'),
    toleranceDriftPercent: percent().default(0),
    /** First chunk's size; then adapted so a chunk takes about targetChunkMs. */
    chunkSize: positiveInt().default(1000),
    targetChunkMs: positiveInt().default(500),
    /** Legacy rows read per second at most; 0 = no cap. */
    maxRowsPerSecond: nonNegativeInt().default(0),
    /** Per statement on the legacy database; a chunk that runs longer is retried smaller, then skipped. */
    statementTimeoutMs: positiveInt().default(30000),
    /** Pause while the legacy database runs more than this many statements at once (0 = never pause). */
    pauseWhenThreadsRunning: nonNegativeInt().default(0),
    /** Mismatches are re-checked once, this long after the pass that found them. */
    graceMs: nonNegativeInt().default(2000),
    /** Differing rows kept in the report with both canonical values. */
    maxSamples: nonNegativeInt().default(20),
    /** In-database checksum per chunk, used only once a start-up self-test shows it agrees with the TypeScript encoding. */
    prefilter: oneOf(['auto', 'off']).default('auto'),
    /** A projection feeding the entity further behind than this (or paused, or failing) makes the verdict inconclusive. */
    maxPendingLagMs: nonNegativeInt().default(60000),
  },
  'a mapping with schedule and checksumAlgorithm',
).prefault({});

const configSections = section(
  {
    server: serverSchema,
    admin: adminSchema,
    legacy: legacySchema,
    eventStore: eventStoreSchema,
    projections: projectionsSchema,
    reconciliation: reconciliationSchema,
    canary: canarySchema,
    rollback: rollbackSchema,
    entities: entitiesSchema,
  },
  'a mapping of sections (server, admin, legacy, eventStore, ...)',
).superRefine((config, ctx) => {
  // Cross-field checks; zod runs them only once every field above is valid on its own.
  if (config.server.port === config.admin.port) {
    ctx.addIssue({ code: 'custom', path: ['admin', 'port'], message: `must differ from server.port (both are ${config.server.port})` });
  }
  const owners = new Map<string, string>();
  for (const [name, entity] of Object.entries(config.entities)) {
    const owner = projectionOwner(entity.projection);
    if (owner !== null) {
      const target = config.entities[owner];
      if (!target || projectionOwner(target.projection) !== null) {
        ctx.addIssue({
          code: 'custom',
          path: ['entities', name, 'projection'],
          message: `"${entity.projection}" must name another entity with a projection of its own (${
            Object.keys(config.entities)
              .filter((e) => e !== name)
              .join(', ') || 'none'
          })`,
        });
      }
    }
    const routes = [
      ...entity.commands.map((c, i) => ({
        route: c.route,
        at: `entities.${name}.commands[${i}]`,
        path: ['entities', name, 'commands', i, 'route'],
      })),
      ...entity.reads.map((r, i) => ({
        route: r.route,
        at: `entities.${name}.reads[${i}]`,
        path: ['entities', name, 'reads', i, 'route'],
      })),
    ];
    for (const { route, at, path } of routes) {
      const owner = owners.get(routeShape(route));
      if (owner !== undefined) ctx.addIssue({ code: 'custom', path, message: `"${route}" is already routed by ${owner}` });
      else owners.set(routeShape(route), at);
    }
    if (entity.rowEvents !== undefined && entity.projection !== 'row') {
      ctx.addIssue({
        code: 'custom',
        path: ['entities', name, 'rowEvents'],
        message: `applies to projection: row only (this entity's projection, ${entity.projection}, decides what its events do); remove it`,
      });
    }
    entity.commands.forEach((c, i) => {
      if (c.capture === 'row' && config.legacy.database.url === null) {
        ctx.addIssue({
          code: 'custom',
          path: ['entities', name, 'commands', i, 'capture'],
          message: 'capture: row reads the legacy row back, so legacy.database.url must be set',
        });
      }
      for (const [j, field] of (c.responseData ?? []).map(dataFieldName).entries()) {
        if (entity.redact.includes(field))
          ctx.addIssue({
            code: 'custom',
            path: ['entities', name, 'commands', i, 'responseData', j],
            message: `"${field}" is in the entity's redact list, so it would never reach the event; remove it from one of them`,
          });
      }
      if (c.lookup !== undefined && config.legacy.database.url === null) {
        ctx.addIssue({
          code: 'custom',
          path: ['entities', name, 'commands', i, 'lookup'],
          message: `lookup finds the row in the legacy table ${entity.legacy.table}, so legacy.database.url must be set, e.g. legacy: { database: { url: "\${STRANGLER_LEGACY_DB_URL}" } }`,
        });
      }
    });
  }
});

/** The spec's schema; sub-resource DELETEs and soft deletes default to `capture: row` first (deleteRoutes.ts). */
export const configSchema = z.preprocess(defaultRowRereads, configSections);

/** The validated spec, defaults applied, exactly as the schema produces it. */
export type ConfigSpec = z.output<typeof configSchema>;
/** What may be written in the YAML file. */
export type ConfigInput = z.input<typeof configSections>;
export type ServerConfig = ConfigSpec['server'];
export type AdminSpec = ConfigSpec['admin'];
export type AdminTokenSpec = z.output<typeof adminTokenSchema>;
export type LegacyConfig = ConfigSpec['legacy'];
export type EventStoreConfig = ConfigSpec['eventStore'];
export type ProjectionsConfig = ConfigSpec['projections'];
export type ReconciliationConfig = ConfigSpec['reconciliation'];
export type CanaryConfig = ConfigSpec['canary'];
export type { StickyKey } from './canarySchema.ts';
export type RollbackConfig = ConfigSpec['rollback'];
export type EntityConfig = ConfigSpec['entities'][string];
export type EntitySpec = z.output<typeof entitySchema>;
export type CommandSpec = z.output<typeof commandSchema>;
export type ReadSpec = z.output<typeof readSchema>;
export type ReconcileSpec = EntityConfig['reconcile'];

export interface ResolvedAdminToken {
  name: string;
  role: AdminTokenSpec['role'];
  /** From `env[token.env]`; prints as "[redacted]". */
  secret: Secret;
}

export interface DisabledAdminToken {
  name: string;
  /** The variable that was unset or empty. */
  env: string;
}

/**
 * What loadConfig returns: the validated spec with relative paths made absolute and the
 * admin tokens' secrets read from the environment.
 */
export type Config = Omit<ConfigSpec, 'admin' | 'rollback'> & {
  admin: AdminSpec & { resolvedTokens: ResolvedAdminToken[]; disabledTokens: DisabledAdminToken[] };
  /** `webhook.secret`: from `env[webhook.secretEnv]` (loadConfig); absent when no secretEnv is set. */
  rollback: RollbackConfig & { webhook: RollbackConfig['webhook'] & { secret?: Secret } };
  /** Parts turned off because an optional field's `${VAR}` is unset (optionalFields.ts); printed once by the caller. */
  warnings: string[];
};
