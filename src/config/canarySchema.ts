import { z } from 'zod';
import { bool, expected, header, nonNegativeInt, positiveInt, rate, section, text } from './fields.ts';

/** The `canary` section: steps, the sticky key, the read path's limits and the shadow comparison (docs/operations.md). */

const stickyKeySchema = section(
  {
    header: header().optional(),
    cookie: text('a cookie name').optional(),
    param: text('a route parameter name').optional(),
    query: text('a query-string parameter name').optional(),
    /** `true`: the client's address (the socket's; X-Forwarded-For is not trusted). */
    address: z.literal(true, expected('true')).optional(),
  },
  'one of { header: NAME }, { cookie: NAME }, { param: NAME }, { query: NAME } or { address: true }',
)
  .superRefine((key, ctx) => {
    if (Object.values(key).filter((v) => v !== undefined).length !== 1) {
      ctx.addIssue({ code: 'custom', path: [], message: 'expected exactly one of header, cookie, param, query or address' });
    }
  })
  .transform((key): StickyKey => {
    if (key.header !== undefined) return { source: 'header', name: key.header.toLowerCase() };
    if (key.cookie !== undefined) return { source: 'cookie', name: key.cookie };
    if (key.query !== undefined) return { source: 'query', name: key.query };
    if (key.address !== undefined) return { source: 'address', name: '' };
    return { source: 'param', name: key.param ?? '' };
  });

export interface StickyKey {
  source: 'header' | 'cookie' | 'param' | 'query' | 'address';
  name: string;
}

const stepsWhat = 'a rising list of percentages from 1 to 100, like [10, 25, 50, 100]';
export const canarySchema = section(
  {
    steps: z
      .array(
        z
          .int(expected('a percentage from 1 to 100'))
          .min(1, expected('a percentage from 1 to 100'))
          .max(100, expected('a percentage from 1 to 100')),
        expected(stepsWhat),
      )
      .min(1, expected(stepsWhat))
      .refine((steps) => steps.every((s, i) => i === 0 || s > (steps[i - 1] ?? 0)), expected(stepsWhat))
      .default(() => [10, 25, 50, 100]),
    stickyKey: stickyKeySchema.default({ source: 'header', name: 'x-user-id' }),
    /** `false`, or a header a tester may send to pick the side (`legacy` / `readmodel`). */
    overrideHeader: z.union([z.literal(false), header()], expected('false or an HTTP header name')).default(false),
    /** Adds `X-Strangler-Source: legacy|read-model` to answers of read routes. */
    sourceHeader: bool().default(false),
    /** A read-model answer slower than this is dropped and legacy answers at once. */
    readTimeoutMs: positiveInt().default(250),
    /** List reads go to legacy while the entity's projection lags more than this. */
    maxListLagMs: nonNegativeInt().default(1000),
    shadow: section(
      {
        /** Share of legacy-served reads compared in the canary stage (every read is compared in shadow). */
        sampleRate: rate().default(0.1),
        /** Comparisons waiting or in flight at most; more are shed (and counted). */
        maxConcurrent: positiveInt().default(16),
        /**
         * A comparison waits for a moment when no client request is in flight on the public
         * port, at most this long (ms), then runs anyway; 0 runs it at once.
         */
        maxDeferMs: nonNegativeInt().default(50),
        /** The read model's answer to a comparison is given up after this long (counted as error). */
        timeoutMs: positiveInt().default(1000),
        /** Share of comparisons that read legacy a second time, to find noisy fields. */
        noiseSampleRate: rate().default(0.05),
        /** Legacy answers larger than this are not compared (counted as shed). */
        maxBodyBytes: positiveInt().default(1_048_576),
        /** Mismatching reads kept per entity, with their path-level diff, for GET /admin/shadow. */
        maxSamples: positiveInt().default(50),
      },
      'a mapping with sampleRate, maxConcurrent and timeoutMs',
    ).prefault({}),
  },
  'a mapping with steps, stickyKey and overrideHeader',
).prefault({});
