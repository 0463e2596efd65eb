import { z } from 'zod';
import { bool, expected, httpUrl, matching, nonNegativeInt, oneOf, positiveInt, rate, section } from './fields.ts';

/** The `rollback` section: the guard's gates, policy, promotion and webhook (docs/guard.md). */

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

export const rollbackSchema = section(
  {
    intervalMs: positiveInt().default(5000),
    threshold: positiveInt().default(3),
    policy: oneOf(['rollback', 'freeze', 'alert']).default('rollback'),
    projectionLagMs: positiveInt().default(5000),
    stateMismatchRate: rate().default(0.01),
    errorRate: rate().default(0.05),
    minSamples: positiveInt().default(100),
    maxSpoolDepth: positiveInt().default(1000),
    /** Gate: read-model p99 / legacy p99 over the window. */
    maxLatencyRatio: z.number(expected('a number above 0, like 1.5')).positive(expected('a number above 0, like 1.5')).default(1.5),
    /** Reads and shadow comparisons counted over this long (summed over live replicas). */
    windowMs: positiveInt().default(60000),
    /** A reconciliation report older than this makes state_mismatch inconclusive; null = twice the schedule's period. */
    maxReportAgeMs: positiveInt().nullable().default(null),
    /** Evaluate, report and notify what would be done; never change the canary. */
    dryRun: bool().default(false),
    promotion: section(
      {
        enabled: bool().default(false),
        /** Every gate passing this long (and minSamples read-model reads in the window) → next step. */
        stableMinutes: z
          .number(expected('a number of minutes above 0, like 30'))
          .positive(expected('a number of minutes above 0, like 30'))
          .default(30),
      },
      'a mapping with enabled and stableMinutes',
    ).prefault({}),
    // Optional: an unset `${VAR}` here sends no webhook, with a warning (optionalFields.ts).
    webhook: section(
      {
        url: httpUrl().nullable().default(null),
        /** The NAME of the environment variable holding the HMAC-SHA256 secret (X-Strangler-Signature); null = unsigned. */
        secretEnv: matching(ENV_NAME, 'the NAME of the environment variable holding the secret (A-Z, 0-9, _)').nullable().default(null),
        timeoutMs: positiveInt().default(5000),
        /** Further attempts after a failed one, with exponential backoff (1 s, 2 s, 4 s, ...). */
        retries: nonNegativeInt().default(3),
      },
      'a mapping with url (and secretEnv, timeoutMs, retries)',
    ).prefault({}),
  },
  'a mapping with the guard thresholds',
).prefault({});
