import { rereadsRow } from './deleteRoutes.ts';
import type { ConfigSpec } from './schema.ts';

/**
 * Fields that switch an optional part of the sidecar on. When the `${VAR}` written in one
 * of them is not set, that part is turned off with one warning instead of stopping the
 * process: the shipped config names `${STRANGLER_LEGACY_DB_URL}`, and a first start (or a
 * `strangler doctor`) without a legacy database must still work.
 *
 * Deliberately NOT here (a missing variable there still stops the process):
 * - `legacy.upstream`: the sidecar cannot proxy without it (commands that never proxy pass
 *   `requireUpstream: false` to loadConfig instead);
 * - `eventStore.url`: silently falling back to the embedded store would write production
 *   events to a local directory;
 * - everything else: a typo in a variable name must not quietly change a setting.
 * Admin tokens are optional by design already: `env` names the variable, and a token whose
 * variable is unset is disabled (see adminTokens.ts).
 */
export interface OptionalField {
  path: string;
  /**
   * A valid value the schema checks in place of the missing one, so cross-field checks that
   * depend on the field (capture: row needs legacy.database.url) do not fail on a part that
   * is about to be turned off. Never leaves loadConfig: `turnOff` replaces it.
   */
  placeholder: string;
  /** The validated spec with the part turned off, and what is off, in words. */
  turnOff(spec: ConfigSpec): { spec: ConfigSpec; off: string };
}

export const OPTIONAL_FIELDS: readonly OptionalField[] = [
  {
    path: 'legacy.database.url',
    placeholder: 'postgres://legacy-database.unset.invalid/off',
    turnOff(spec) {
      // A `capture: row` command cannot read its row: the route passes through, recording nothing.
      // A sub-resource DELETE or soft delete captures its request instead (deleteRoutes.ts).
      const dropped: string[] = [];
      const fallBack: string[] = [];
      const entities = Object.fromEntries(
        Object.entries(spec.entities).map(([name, e]) => [
          name,
          {
            ...e,
            commands: e.commands
              .map((c) => {
                if (c.capture !== 'row' || !rereadsRow(e, c.route)) return c;
                fallBack.push(c.route);
                return { ...c, capture: 'request' as const };
              })
              .filter((c, i) => {
                if (c.capture !== 'row') return true;
                dropped.push(`${c.route} (entities.${name}.commands[${i}])`);
                return false;
              }),
          },
        ]),
      );
      let off =
        dropped.length === 0
          ? 'reconciliation is off'
          : `reconciliation is off, and so is capture: row: ${dropped.join(', ')} pass through without recording an event`;
      if (fallBack.length) off += `; ${fallBack.join(', ')} capture the request instead of re-reading the row`;
      return { spec: { ...spec, legacy: { ...spec.legacy, database: { url: null } }, entities }, off };
    },
  },
  {
    path: 'rollback.webhook.url',
    placeholder: 'https://webhook.unset.invalid/off',
    turnOff: (spec) => ({
      spec: { ...spec, rollback: { ...spec.rollback, webhook: { ...spec.rollback.webhook, url: null } } },
      off: 'guard actions are not sent to a webhook',
    }),
  },
];

/**
 * Stands in for `legacy.upstream` when the command never proxies (reconcile, doctor, migrate,
 * offline projections). A reserved `.invalid` name: nothing can ever be sent there.
 */
export const UPSTREAM_NOT_NEEDED = 'http://legacy-upstream.not-needed.invalid/';
