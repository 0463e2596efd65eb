/**
 * docs/runbook.md and docs/operations.md against the product they describe (issue 15, item 6):
 *
 * - every `strangler …` line of their code blocks goes through the real CLI (`main`): lines that
 *   use the admin API run against a real sidecar (the sample spec, the sample legacy service on
 *   in-process PGlite, an in-memory event store), in document order, and must not end in a usage
 *   error or a 400/401/403/404 (exit 2); lines that use the databases directly get a config path
 *   that does not exist, so they must get past the argument parser to the configuration loader;
 * - every `curl` line is sent to that sidecar's admin port (method, headers, body) and must reach an
 *   endpoint that takes it (not 400, 401, 403, 404 or 405);
 * - every `strangler_…` name is a metric family of the registry (or one of its series), a prefix
 *   of one, or a table the migrations create;
 * - every link into docs/*.md resolves to a file and a heading;
 * - the runbook has one section per alert of the alerts table in docs/metrics.md (the one list of
 *   alerts, `readMetricsDoc().alerts`), naming the families the alert reads, and that table links
 *   each alert to its section.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, startLegacyOrders, type RunningLegacyOrders } from '../../examples/legacy-orders/index.ts';
import { main } from '../../src/cli/main.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { Executor } from '../../src/db/executor.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';
import { openEventStore, type EventStore } from '../../src/eventstore/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { startSidecar, type Sidecar } from '../../src/sidecar.ts';
import { until } from '../e2e/fixtures/wait.ts';
import { readMetricsDoc } from '../helpers/metricsDoc.ts';
import { SESSION_COOKIE } from '../../src/admin/session.ts';

const DOCS = ['operations.md', 'runbook.md'];
const read = (doc: string) => fs.readFileSync(path.join('docs', doc), 'utf8');

// ---------------------------------------------------------------------------------------------
// Markdown

interface Block {
  doc: string;
  lang: string;
  lines: string[];
}

/** Fenced code blocks, and the text outside them. */
function split(text: string, doc: string): { blocks: Block[]; prose: string[] } {
  const blocks: Block[] = [];
  const prose: string[] = [];
  let open: Block | null = null;
  for (const line of text.split('\n')) {
    const fence = /^\s*```(\w*)\s*$/.exec(line);
    if (fence) {
      if (open) {
        blocks.push(open);
        open = null;
      } else open = { doc, lang: fence[1]!, lines: [] };
    } else if (open) open.lines.push(line.trim());
    else prose.push(line);
  }
  return { blocks, prose };
}

/** The command lines of a block: every line of a sh block, the `$ ` lines of any other. */
function commandLines(block: Block): string[] {
  const shell = ['sh', 'bash', 'shell'].includes(block.lang);
  return block.lines.flatMap((l) => (l.startsWith('$ ') ? [l.slice(2)] : shell && l !== '' && !l.startsWith('#') ? [l] : []));
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of split(text, '').prose) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

const headings = (text: string, level: number) =>
  split(text, '')
    .prose.filter((l) => l.startsWith('#'.repeat(level) + ' '))
    .map((l) => l.slice(level + 1).trim());

// ---------------------------------------------------------------------------------------------
// A small shell word splitter: quotes, backslashes, $VAR and ${VAR}, a # comment, pipelines.

function shellWords(line: string, env: Record<string, string>): string[][] {
  const segments: string[][] = [[]];
  let word: string | null = null;
  const push = () => {
    if (word !== null) segments[segments.length - 1]!.push(word);
    word = null;
  };
  const variable = (at: number): [string, number] => {
    const m = /^\$(?:\{(\w+)\}|(\w+))/.exec(line.slice(at));
    if (!m) return ['$', at + 1];
    const name = m[1] ?? m[2]!;
    if (!(name in env)) throw new Error(`unknown variable $${name} in: ${line}`);
    return [env[name]!, at + m[0].length];
  };
  for (let i = 0; i < line.length;) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unclosed ' in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      word = word ?? '';
      i++;
      while (line[i] !== '"') {
        if (i >= line.length) throw new Error(`unclosed " in: ${line}`);
        if (line[i] === '\\' && /["\\$`]/.test(line[i + 1] ?? '')) {
          word += line[i + 1];
          i += 2;
        } else if (line[i] === '$') {
          const [value, next] = variable(i);
          word += value;
          i = next;
        } else word += line[i++];
      }
      i++;
    } else if (c === '\\') {
      word = (word ?? '') + (line[i + 1] ?? '');
      i += 2;
    } else if (c === '$') {
      const [value, next] = variable(i);
      word = (word ?? '') + value;
      i = next;
    } else if (/\s/.test(c)) {
      push();
      i++;
    } else if (c === '#' && word === null) break;
    else if (c === '|') {
      push();
      segments.push([]);
      i++;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  push();
  return segments;
}

// ---------------------------------------------------------------------------------------------
// The sidecar the commands run against

const TOKEN = 'runbook-doc-operator-token';
let legacyDb: Executor;
let legacy: RunningLegacyOrders;
let store: EventStore;
let sidecar: Sidecar;
let spool: string;

beforeAll(async () => {
  legacyDb = await createPgliteExecutor({});
  await migrate(legacyDb);
  legacy = await startLegacyOrders({ db: legacyDb, port: 0 });
  const config = loadConfig({
    file: 'examples/legacy-orders/strangler.yaml',
    env: { STRANGLER_ADMIN_TOKEN: TOKEN, STRANGLER_LEGACY_UPSTREAM: legacy.url, STRANGLER_EVENTSTORE_URL: 'memory' },
  });
  config.server.port = 0;
  config.admin.port = 0;
  config.server.host = config.admin.host = '127.0.0.1';
  spool = await fsp.mkdtemp(path.join(os.tmpdir(), 'strangler-runbook-doc-'));
  config.eventStore.spool.path = spool;
  store = await openEventStore({ url: 'memory', migrate: true });
  sidecar = await startSidecar({ config, logger: silentLogger(), store, legacyDb, spoolFsync: false, drainMs: 1_000 });
  for (let n = 0; n < 3; n++) {
    const res = await fetch(`${sidecar.publicUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: `cust-${n}`, items: [{ sku: 'SKU-1', quantity: 1, price: '1.00' }] }),
    });
    expect(res.status).toBe(201);
  }
}, 60_000);

afterAll(async () => {
  await sidecar?.stop();
  await store?.close();
  await legacy?.close();
  await legacyDb?.close();
  if (spool) await fsp.rm(spool, { recursive: true, force: true });
});

const admin = (p: string, init: RequestInit = {}) =>
  fetch(sidecar.adminUrl + p, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) } });

/** Finished reconciliation runs of orders up to run `id`, so a doc line naming `--run id` has one to use. */
async function runsUpTo(id: number): Promise<void> {
  for (;;) {
    const res = await admin('/admin/reconciliations', { method: 'POST', body: '{"entity": "orders"}' });
    expect(res.status).toBe(202);
    const { runs } = (await res.json()) as { runs: { runId: number }[] };
    const runId = runs[0]!.runId;
    await until(
      async () => ((await (await admin(`/admin/reconciliations/${runId}`)).json()) as { status: string }).status !== 'running',
      `reconciliation run ${runId} to finish`,
      30_000,
      50,
    );
    if (runId >= id) return;
  }
}

const DIRECT = new Set(['start', 'migrate', 'config', 'doctor', 'selfcheck', 'demo']);
const MISSING_CONFIG = path.join(os.tmpdir(), 'strangler-runbook-doc-no-such-dir', 'strangler.yaml');

/** Runs one `strangler …` line through the real CLI; returns what is wrong with it, or null. */
async function runCli(args: string[]): Promise<string | null> {
  const out: string[] = [];
  const err: string[] = [];
  const io = (env: Record<string, string>) => ({ out: (l: string) => out.push(l), err: (l: string) => err.push(l), env });
  const configAt = args.findIndex((a) => a === '--config' || a === '-c');
  const direct = DIRECT.has(args[0]!) || (args[0] === 'projections' && args[1] === 'run') || configAt >= 0 || args.includes('--url');
  if (direct) {
    // Uses the databases the config names: check it gets through the parser, then stop at the config.
    if (args.includes('--url')) return 'uses --url; the docs give --config FILE';
    if (configAt < 0 || configAt + 1 >= args.length) return 'uses the databases directly but gives no --config FILE';
    const code = await main([...args.slice(0, configAt + 1), MISSING_CONFIG, ...args.slice(configAt + 2)], io({}));
    const text = err.join('\n');
    return code === 2 && text.includes('cannot read the file (ENOENT)') ? null : `exit ${code}: ${text}`;
  }
  if (args.includes('--admin') || args.includes('--token')) return 'names --admin/--token; the docs use the environment';
  const code = await main(args, io({ STRANGLER_ADMIN_URL: sidecar.adminUrl, STRANGLER_ADMIN_TOKEN: TOKEN }));
  // 2: bad usage, or the admin API answered 400/401/403/404. 1 (e.g. a 409 for the state the
  // previous lines left) and 3 (inconclusive) are answers of a command that was understood.
  return code === 2 ? `exit 2: ${err.join('\n')}` : null;
}

/** Sends one `curl` line to the sidecar's admin port; returns what is wrong with it, or null. */
async function runCurl(words: string[]): Promise<string | null> {
  let method: string | undefined;
  let body: string | undefined;
  let url: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-X') method = words[++i];
    else if (w === '-d' || w === '--data') body = words[++i];
    else if (w === '-H') {
      const h = words[++i]!;
      const colon = h.indexOf(':');
      headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
    } else if (w === '-s' || w === '-sS' || w === '-i') continue;
    else if (w.startsWith('-')) return `curl option ${w} is not understood by this test`;
    else url = w;
  }
  if (!url?.startsWith(sidecar.adminUrl + '/')) return `not a URL on the admin port (${url})`;
  const res = await fetch(url, { method: method ?? (body === undefined ? 'GET' : 'POST'), headers, ...(body ? { body } : {}) });
  const text = await res.text();
  return [400, 401, 403, 404, 405].includes(res.status) ? `${res.status} ${text.slice(0, 300)}` : null;
}

// ---------------------------------------------------------------------------------------------

describe('docs/operations.md and docs/runbook.md', () => {
  const blocks = DOCS.flatMap((doc) => split(read(doc), doc).blocks);
  const env = () => ({ STRANGLER_ADMIN_URL: sidecar.adminUrl, STRANGLER_ADMIN_TOKEN: TOKEN });

  it('every strangler and curl line of their code blocks runs: the CLI parses it, the admin port serves it', async () => {
    const lines = blocks.flatMap((b) => commandLines(b).map((line) => ({ doc: b.doc, line })));
    const cli = lines.filter((l) => l.line.startsWith('strangler '));
    const curl = lines.filter((l) => l.line.startsWith('curl '));
    // Both docs show commands; if the extraction broke, this fails instead of passing on nothing.
    expect(cli.filter((l) => l.doc === 'runbook.md').length).toBeGreaterThan(10);
    expect(cli.filter((l) => l.doc === 'operations.md').length).toBeGreaterThan(10);
    expect(curl.filter((l) => l.doc === 'runbook.md').length).toBeGreaterThan(5);
    const runIds = lines.flatMap((l) => [...l.line.matchAll(/--run (\d+)/g)].map((m) => Number(m[1])));
    if (runIds.length > 0) await runsUpTo(Math.max(...runIds));

    const problems: string[] = [];
    for (const { doc, line } of lines) {
      const [words = [], ...piped] = shellWords(line, env());
      if (words[0] !== 'strangler' && words[0] !== 'curl') continue;
      const problem = piped.some((p) => p[0] === 'strangler' || p[0] === 'curl')
        ? 'a second command after a pipe is not checked'
        : words[0] === 'strangler'
          ? await runCli(words.slice(1))
          : await runCurl(words);
      if (problem) problems.push(`${doc}: ${line}\n    ${problem}`);
    }
    expect(problems).toEqual([]);
  }, 180_000);

  it('every strangler_ name is a metric family (or its series, or a prefix of one), a table of the migrations or the session cookie', () => {
    const registry = createMetrics(new Registry(), { defaults: true }).registry;
    const families = registry.getMetricsAsArray().map((m) => ({ name: m.name, type: (m as unknown as { type: string }).type }));
    const series = new Set(
      families.flatMap((f) => (f.type === 'histogram' ? [f.name, `${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`] : [f.name])),
    );
    expect(series.has('strangler_spool_depth')).toBe(true);
    const sql = [...fs.readdirSync('migrations').map((f) => path.join('migrations', f)), 'src/db/migrate.ts']
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
    const tables = new Set([...sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(strangler_\w+)/g)].map((m) => m[1]!));
    expect(tables.has('strangler_dead_letters')).toBe(true);

    const problems: string[] = [];
    for (const doc of DOCS) {
      for (const [name] of read(doc).matchAll(/\bstrangler_[a-z0-9_]+/g)) {
        const known = name.endsWith('_')
          ? [...series].some((s) => s.startsWith(name))
          : series.has(name) || tables.has(name) || name === SESSION_COOKIE;
        if (!known) problems.push(`${doc}: ${name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every link into docs/ resolves to a file and, with #, to one of its headings', () => {
    const problems: string[] = [];
    for (const doc of [...DOCS, 'metrics.md']) {
      const { prose } = split(read(doc), doc);
      for (const [, target] of prose.join('\n').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue; // http(s), mailto
        const [file, anchor] = target!.split('#') as [string, string | undefined];
        const resolved = file === '' ? path.join('docs', doc) : path.join('docs', file);
        if (!fs.existsSync(resolved)) problems.push(`${doc}: ${target} (no file ${resolved})`);
        else if (anchor !== undefined && !anchors(fs.readFileSync(resolved, 'utf8')).has(anchor))
          problems.push(`${doc}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the runbook has one section per alert of docs/metrics.md, naming its families, and the alerts table links to it', () => {
    const { alerts } = readMetricsDoc();
    const runbook = read('runbook.md');
    const sections = headings(runbook, 2);
    expect(alerts.map((a) => a.name).sort()).toEqual(sections.filter((s) => /^Strangler\w+$/.test(s)).sort());
    expect(sections.filter((s) => !/^Strangler\w+$/.test(s))).toEqual(['Event store down', 'Rebuild a projection']);
    expect(alerts.map((a) => a.name)).toEqual(
      expect.arrayContaining([
        'StranglerProjectionLagHigh',
        'StranglerProjectionPaused',
        'StranglerReconciliationMismatch',
        'StranglerShadowMismatch',
        'StranglerGuardActed',
        'StranglerSpoolGrowing',
        'StranglerReconciliationStale',
        'StranglerEventStoreConsistencyErrors',
      ]),
    );
    const body = (name: string) => {
      const start = runbook.indexOf(`\n## ${name}\n`);
      const next = runbook.indexOf('\n## ', start + 1);
      return runbook.slice(start, next < 0 ? undefined : next);
    };
    const metricsDoc = read('metrics.md');
    for (const a of alerts) {
      for (const f of a.families) expect(body(a.name), `${a.name} names ${f}`).toContain(f);
      for (const part of ['**Means.**', '**Confirm.**', '**Do.**']) expect(body(a.name), `${a.name}: ${part}`).toContain(part);
      expect(metricsDoc).toContain(`[runbook](runbook.md#${a.name.toLowerCase()})`);
    }
  });
});
