import { DEFAULT_ADMIN_URL } from './adminClient.ts';

export const DOCTOR_USAGE = `  strangler doctor [--config FILE] [--url URL] [--json] [--fail-on SEVERITY] [--limit N]
                                         event store consistency checks; exit 0 healthy, 1 findings, 2 error
  strangler doctor verify STREAM [--config FILE] [--url URL] [--json] [--projection NAME] [--no-snapshots]
                                         replay one stream through its projection's fold and compare it with its
                                         read-model rows (needs the config); exit 0 equal, 1 different
                                         both use the event store directly (--url, STRANGLER_EVENTSTORE_URL or --config)`;

export const RECONCILE_USAGE = `  strangler reconcile [--entity E] [--json]
                                         reconcile now on the running sidecar (admin API): start a run, wait, print the report
  strangler reconcile --repair [--apply] [--run ID[,ID…]] [--entity E] [--json]
                                         corrective events for a run's confirmed differences (dry run unless --apply);
                                         without --run it reconciles first and repairs from that run
      --admin URL, STRANGLER_ADMIN_URL   the sidecar's admin API (default ${DEFAULT_ADMIN_URL})
      --token T, STRANGLER_ADMIN_TOKEN   an operator token (the demo prints one)
      --config FILE                      offline: straight against the legacy database and the event store
                                         the file names, no sidecar needed
      exit: 0 within tolerance, 1 over tolerance, 2 error, 3 inconclusive (a projection feeding the entity is
      paused, failing or behind reconciliation.maxPendingLagMs); several entities: the worst, 2 > 1 > 3 > 0.
      --repair exits by the repair: 0 every planned event appended or already there (or listed, dry run),
      1 some stood down (a command moved the stream on: run it again), 2 error`;

/** Usage texts: one per command (printed by `strangler COMMAND --help`), and the overview. */

export const EXIT_CODES = `Exit codes: 0 success, 1 failure, 2 bad configuration or usage, 3 inconclusive (reconcile could not judge:
a projection feeding the entity is paused, failed or too far behind).`;

const ADMIN_NOTE = `Talks to a running sidecar's admin API: --admin URL or STRANGLER_ADMIN_URL (default ${DEFAULT_ADMIN_URL}),
--token TOKEN or STRANGLER_ADMIN_TOKEN (the demo prints both as one export line).`;

export const COMMAND_USAGE = {
  demo: `  strangler demo [--data DIR | memory]   the one-command demo with embedded defaults (npm start); data in DIR
                                         (default ./data/demo, one demo per directory), or kept in memory`,
  start: `  strangler start [--config FILE]        run the sidecar (default config/strangler.yaml) until SIGTERM`,
  status: `  strangler status [--json] [--admin URL] [--token TOKEN]
                                         one screen: upstream, event store, spool, each projection's state and lag,
                                         each entity's stage and last reconciliation

${ADMIN_NOTE}`,
  projections: `  strangler projections status [--json]  state (running, paused, failed, rebuilding), position, lag, who paused and why
  strangler projections pause NAME [--reason TEXT]
                                         stop applying on every replica until resumed; events wait in the log
  strangler projections resume NAME      resume a paused projection (after a failure: retry the failing event)
  strangler projections skip NAME        move the failing event to strangler_dead_letters, continue after it
  strangler projections rebuild NAME     rebuild into new tables while the old ones serve, then switch (waits, shows progress)
                                         pause, resume, skip and rebuild take --reason TEXT (kept with a pause, logged)
  strangler projections run [--config FILE]
                                         run the projection runners in the foreground (until SIGTERM); uses the databases

${ADMIN_NOTE}
Offline, with --config FILE (or --url URL for the event store), status, pause, resume, skip and rebuild use the
event store directly instead, e.g. when no sidecar runs.`,
  canary: `  strangler canary status [ENTITY] [--json]
                                         each entity's stage (dual_write, shadow, canary N %, complete), paused, last change
  strangler canary set ENTITY --percent N | --stage S --reason TEXT
  strangler canary promote|rollback|pause|resume ENTITY --reason TEXT
                                         promote: next step (dual_write → shadow → steps → complete); rollback: back to
                                         shadow, every read from legacy; pause: no promotion until resumed
  strangler canary audit [ENTITY] [--limit N]
                                         who changed what, when, from where and why (newest first)

${ADMIN_NOTE}`,
  guard: `  strangler guard status [ENTITY] [--json]
                                         the guard's last evaluation: policy, dry run, failed evaluations in a row,
                                         last action, and each gate's value, threshold and state (pass, fail, inconclusive)

${ADMIN_NOTE}`,
  selfcheck: `  strangler selfcheck [--url URL]        exercise an event store (default: embedded, in memory)`,
  migrate: `  strangler migrate [--config FILE] [--url URL]
                                         apply event store migrations (under an advisory lock); uses the database directly`,
  config: `  strangler config check [--config FILE] validate a configuration file and print it, secrets redacted`,
  doctor: DOCTOR_USAGE,
  reconcile: RECONCILE_USAGE,
} as const;

export type CommandName = keyof typeof COMMAND_USAGE;

export const USAGE = `strangler: a sidecar that strangles a legacy CRUD service into an event-sourced design

Usage: strangler COMMAND [options]; strangler COMMAND --help shows one command.

Run the sidecar:
${COMMAND_USAGE.demo}
${COMMAND_USAGE.start}

Operate a running sidecar (clients of its admin API, like kubectl: --admin URL / STRANGLER_ADMIN_URL,
default ${DEFAULT_ADMIN_URL}; --token TOKEN / STRANGLER_ADMIN_TOKEN):
  strangler status [--json]              upstream, event store, spool, projections, entities at a glance
  strangler projections status|pause|resume|skip|rebuild [NAME] [--reason TEXT] [--json]
  strangler reconcile ...                start a reconciliation and print the report; --repair (see reconcile --help)
  strangler canary status|set|promote|rollback|pause|resume|audit [ENTITY] --reason TEXT
  strangler guard status [ENTITY]        the guard's gates, failures in a row and last action per entity

Use the databases directly (offline, or set-up):
  strangler projections status|pause|resume|skip|rebuild ... --config FILE
  strangler projections run [--config FILE]
${COMMAND_USAGE.migrate}
  strangler doctor [verify STREAM] ...   event store consistency checks (see doctor --help)
${COMMAND_USAGE.selfcheck}
${COMMAND_USAGE.config}

  strangler help [COMMAND]               this text, or one command's
  strangler --version (-v)               the version

${EXIT_CODES}
`;
