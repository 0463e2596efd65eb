import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Executor } from '../db/executor.ts';
import { createPgliteExecutor } from '../db/pgliteExecutor.ts';
import { loadConfig } from '../config/index.ts';
import { createLogger } from '../logging/logger.ts';
import { lockDataDir } from '../lock/dataDirLock.ts';
import { openEventStore } from '../eventstore/index.ts';
import { startSidecar } from '../sidecar.ts';
import { readsLines, startReadsInShadow } from './demoCanary.ts';

/**
 * What the demo runs: a sample legacy service, its migration spec and a little traffic
 * (the sample service in examples/ provides one; the core knows no domain).
 */
export interface DemoSample {
  /** "a legacy <what> service". */
  what: string;
  /** The sidecar's config for the sample (absolute path). */
  spec: string;
  /** Creates the sample's schema on its (empty or existing) database and starts it on `port` (0: any). */
  startLegacy(db: Executor, port: number): Promise<{ url: string; close(): Promise<unknown> }>;
  /** Lines showing one command to try through the sidecar's public URL. */
  tryIt(publicUrl: string): string[];
  /** A projection to pause and resume in the printed examples. */
  projection: string;
  /** An entity whose reads start in shadow (when the sidecar can answer them; see demoCanary.ts). */
  reads?: string;
  startTraffic(baseUrl: string): {
    stats: { requests: number; commands2xx: number; rejected4xx: number; reads?: number };
    stop(): Promise<void>;
  };
}

export interface DemoOptions {
  sample: DemoSample;
  env: Record<string, string | undefined>;
  out: (line: string) => void;
  /** Data directory (`--data DIR`, default ./data/demo); `memory` keeps everything in memory. */
  dataDir?: string;
  /** Resolves when the demo should stop (Ctrl-C by default). */
  until: Promise<unknown>;
}

/**
 * `npm start`: the sample legacy service on embedded PGlite, the sidecar in front of it
 * with the embedded event store, and a little traffic, with nothing installed but Node.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const { out, sample } = opts;
  const dataDir = opts.dataDir ?? path.resolve('data/demo');
  const memory = dataDir === 'memory';
  const port = (name: string, fallback: number) => Number(opts.env[name] ?? fallback);

  // Everything opened so far, closed in reverse on the way out (also when start-up fails).
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };
  // One demo per directory: a second one on the same data would corrupt the first's store.
  // Taken before anything is opened; a second demo exits 2 naming the holder.
  const lock = memory
    ? null
    : lockDataDir(dataDir, {
        purpose: 'strangler demo',
        hint: 'start this one on another directory (strangler demo --data DIR) or in memory (strangler demo memory)',
        warn: out,
      });
  cleanups.push(async () => lock?.release());
  try {
    // In memory, the spool still needs a directory: one of its own, so any number of memory demos can run.
    const spoolDir = memory ? fs.mkdtempSync(path.join(os.tmpdir(), 'strangler-demo-spool-')) : path.join(dataDir, 'spool');
    if (memory) cleanups.push(() => fs.promises.rm(spoolDir, { recursive: true, force: true }));
    const legacyDb = await createPgliteExecutor(memory ? {} : { dataDir: path.join(dataDir, 'legacy') });
    cleanups.push(() => legacyDb.close());
    const legacy = await sample.startLegacy(legacyDb, port('DEMO_LEGACY_PORT', 3000)).catch(() => sample.startLegacy(legacyDb, 0));
    cleanups.push(() => legacy.close());

    // The demo opens the operator API with a token of its own unless one is given, and prints it.
    const adminToken = opts.env.STRANGLER_ADMIN_TOKEN || randomBytes(12).toString('hex');
    const config = loadConfig({
      file: sample.spec,
      env: {
        ...opts.env,
        STRANGLER_ADMIN_TOKEN: adminToken,
        STRANGLER_LEGACY_UPSTREAM: legacy.url,
        STRANGLER_EVENTSTORE_URL: memory ? 'memory' : `embedded:${path.join(dataDir, 'eventstore')}`,
      },
    });
    config.eventStore.spool.path = spoolDir;
    for (const warning of config.warnings) out(`warning: ${warning}`);
    const store = await openEventStore({ url: config.eventStore.url, migrate: true });
    cleanups.push(() => store.close());
    const logger = createLogger({ level: opts.env.LOG_LEVEL ?? 'warn' });
    const sidecar = await startSidecar({ config, logger, store, legacyDb }).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') throw err;
      out(`(ports ${config.server.port}/${config.admin.port} are taken: using free ports)`);
      return startSidecar({
        config: { ...config, server: { ...config.server, port: 0 }, admin: { ...config.admin, port: 0 } },
        logger,
        store,
        legacyDb,
      });
    });
    cleanups.push(() => sidecar.stop());
    const reads = sample.reads ? await startReadsInShadow(sidecar.canary, sample.reads) : null;
    const traffic = sample.startTraffic(sidecar.publicUrl);
    cleanups.push(() => traffic.stop());

    out('');
    out(`strangler-sidecar demo: ${sample.what} with the sidecar in front of it`);
    out(`  public (through the sidecar):  ${sidecar.publicUrl}`);
    out(`  admin (metrics, health):       ${sidecar.adminUrl}/metrics   ${sidecar.adminUrl}/readyz`);
    out(`  dashboard (in a browser):      ${sidecar.adminUrl}/  (log in with the admin token below)`);
    out(`  legacy service (direct):       ${legacy.url}`);
    out(`  event store:                   ${store.description}`);
    out('');
    for (const line of sample.tryIt(sidecar.publicUrl)) out(line);
    out(`  curl -s ${sidecar.adminUrl}/metrics | grep strangler_events_appended_total`);
    out('');
    // One line that makes the CLI reach this demo when pasted into any terminal: the real
    // admin URL (also after a move to free ports) and the token's value (a shell that did
    // not start the demo has no $STRANGLER_ADMIN_TOKEN). Only loopback listens.
    out('Operate it from another terminal in this directory: paste the export line, then any of the commands below it');
    out(
      `(status at a glance; pause and resume the ${sample.projection} projection; compare legacy with the read model; repair what differs):`,
    );
    out(`  export STRANGLER_ADMIN_URL=${sidecar.adminUrl} STRANGLER_ADMIN_TOKEN=${adminToken}`);
    out('  npx strangler status');
    out(`  npx strangler projections pause ${sample.projection} --reason test`);
    out(`  npx strangler projections resume ${sample.projection}`);
    out('  npx strangler reconcile');
    out('  npx strangler reconcile --repair --apply');
    out(
      `  (the token ${opts.env.STRANGLER_ADMIN_TOKEN ? 'is the STRANGLER_ADMIN_TOKEN you set' : 'is new each run; set STRANGLER_ADMIN_TOKEN before npm start to fix it'})`,
    );
    out('');
    out('The same through the admin API (after the export line), JSON or the report page:');
    out(`  curl -s ${sidecar.adminUrl}/admin/status -H "authorization: Bearer $STRANGLER_ADMIN_TOKEN"`);
    out(`  curl -s -X POST ${sidecar.adminUrl}/admin/reconciliations -H "authorization: Bearer $STRANGLER_ADMIN_TOKEN" -d '{}'`);
    out(`  ${sidecar.adminUrl}/admin/reconciliations?format=html  (same header, or in the browser once logged in to the dashboard)`);
    out('');
    if (sample.reads && reads) {
      const key = config.canary.stickyKey;
      for (const line of readsLines(
        sample.reads,
        sidecar.adminUrl,
        key.source === 'address' ? 'client address' : `${key.source} ${key.name}`,
        reads,
      ))
        out(line);
      out('');
    }
    out('A traffic generator is sending commands and reads through the sidecar. Ctrl-C stops everything.');

    const status = setInterval(() => {
      void store.headPosition().then(
        (head) => {
          const s = traffic.stats;
          out(
            `  ${new Date().toISOString().slice(11, 19)}  requests ${s.requests}  commands 2xx ${s.commands2xx}  rejected 4xx ${s.rejected4xx}${s.reads === undefined ? '' : `  reads ${s.reads}`}  events in store ${head}`,
          );
        },
        () => {},
      );
    }, 10_000);

    cleanups.push(async () => clearInterval(status));

    await opts.until;
    out('\nstopping…');
  } finally {
    await cleanup();
  }
  out('stopped cleanly.');
  return 0;
}
