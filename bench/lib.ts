import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'results');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface BenchResult {
  name: string;
  date: string;
  /** git rev-parse HEAD when the bench started: the code the figures describe. */
  commit: string | null;
  /** Present (true) when the tree had changes outside bench/results/ at the start or the end of the run. */
  dirty?: true;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; platform: string };
  settings: Record<string, unknown>;
  figures: Record<string, number | null>;
  notes?: string[];
}

export function machine(): BenchResult['machine'] {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

interface GitState {
  commit: string | null;
  /** `git status --porcelain` lines, bench/results/ left out (the benches write there themselves). */
  changes: string[];
}

function gitState(): GitState {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const head = git('rev-parse', 'HEAD');
  const status = git('status', '--porcelain');
  return {
    commit: head.status === 0 ? head.stdout.trim() : null,
    changes:
      status.status === 0
        ? status.stdout.split('\n').filter((l) => l.trim() && !l.slice(3).startsWith('bench/results/'))
        : ['(git status failed)'],
  };
}

/** Taken when the first bench module loads: a commit made during the run does not relabel its figures. */
const START_GIT = gitState();

export function writeResult(r: Omit<BenchResult, 'date' | 'machine' | 'commit' | 'dirty'>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const end = gitState();
  const dirty = START_GIT.changes.length > 0 || end.changes.length > 0 || end.commit !== START_GIT.commit;
  if (dirty)
    console.warn(
      `bench/${r.name}: the tree had changes (${[...new Set([...START_GIT.changes, ...end.changes])].slice(0, 5).join('; ') || `HEAD moved to ${end.commit}`}): result marked dirty; commit and rerun for figures to keep`,
    );
  const full: BenchResult = {
    name: r.name,
    date: new Date().toISOString(),
    commit: START_GIT.commit,
    ...(dirty ? { dirty: true as const } : {}),
    machine: machine(),
    // Read back from this process: in-process figures (a catch-up, appends) ran with these V8 flags.
    settings: { ...r.settings, benchNodeFlags: process.execArgv },
    figures: r.figures,
    ...(r.notes ? { notes: r.notes } : {}),
  };
  const file = path.join(RESULTS_DIR, `${r.name}.json`);
  writeFileSync(file, JSON.stringify(full, null, 2) + '\n');
  return file;
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * Runs `worker` on `concurrency` loops for `seconds`, recording each call's latency.
 * Returns operations completed and per-call latencies (ms).
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  worker: (loop: number, i: number) => Promise<void>,
): Promise<{ ops: number; elapsedS: number; latenciesMs: number[] }> {
  const latenciesMs: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, loop) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const s = performance.now();
        await worker(loop, i);
        latenciesMs.push(performance.now() - s);
      }
    }),
  );
  return { ops: latenciesMs.length, elapsedS: (performance.now() - t0) / 1000, latenciesMs };
}

export function table(rows: [string, string | number | null][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v ?? 'n/a'}`).join('\n');
}

/** Settings as the server reports them (name → value text), read back after the server started. */
export type ServerSettings = Record<string, string>;

type Query = (sql: string) => Promise<{ rows: unknown[] }>;

const PG_SETTINGS = [
  'server_version',
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'shared_buffers',
  'default_transaction_isolation',
  'wal_level',
  'max_wal_size',
];

/** What a PostgreSQL server runs with, from a session of its own (current_setting: units included, e.g. 256MB). */
export async function readPgSettings(query: Query, extra: string[] = []): Promise<ServerSettings> {
  const names = [...PG_SETTINGS, ...extra];
  const { rows } = await query(
    `SELECT name, current_setting(name) AS value FROM unnest(ARRAY[${names.map((n) => `'${n}'`).join(', ')}]) AS name`,
  );
  return Object.fromEntries((rows as { name: string; value: string }[]).map((r) => [r.name, r.value]));
}

const MARIADB_SETTINGS = [
  'version',
  'innodb_flush_log_at_trx_commit',
  'sync_binlog',
  'log_bin',
  'innodb_doublewrite',
  'innodb_buffer_pool_size',
  'innodb_log_file_size',
  'tx_isolation',
  'transaction_isolation',
];

/** What a MariaDB server runs with (global variables); tx_isolation is the 10.x name, transaction_isolation the 11.x one. */
export async function readMariadbSettings(query: Query): Promise<ServerSettings> {
  const { rows } = await query(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${MARIADB_SETTINGS.map((n) => `'${n}'`).join(', ')})`);
  const out = Object.fromEntries((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name, r.Value]));
  out.isolation = out.transaction_isolation ?? out.tx_isolation ?? 'unknown';
  return out;
}

/**
 * The settings a measurement claims, compared with what the server reports: one line per
 * setting that did not hold (empty when all held). Values compare case-insensitively.
 */
export function settingsMismatches(want: Record<string, string>, got: ServerSettings): string[] {
  return Object.entries(want)
    .filter(([k, v]) => (got[k] ?? '').toLowerCase() !== v.toLowerCase())
    .map(([k, v]) => `${k}: claimed ${v}, server has ${got[k] ?? 'nothing'}`);
}

/** Stops the bench (nothing written) when a setting its figures claim did not take effect. */
export function requireSettings(what: string, want: Record<string, string>, got: ServerSettings): void {
  const bad = settingsMismatches(want, got);
  if (bad.length) throw new Error(`${what}: a claimed setting did not take effect (${bad.join('; ')}); no figure written`);
}

/** The `strangler` command, run as a file (so with the V8 flags of its #! line) by every bench that starts a sidecar. */
export const SIDECAR_BIN = path.join(ROOT, 'bin/strangler.mjs');

/**
 * The benches measure the sidecar as it ships: the bin run as a file, from a fresh dist/.
 * Builds dist/ when it is missing or older than the sources; returns where the bin will run
 * from and the node flags of its #! line, for the result's settings.
 */
export async function shippedSidecar(what: string): Promise<{ runsFrom: 'dist' | 'src (tsx)'; nodeFlags: string[] }> {
  const { ensureDist } = await import('../scripts/ensureDist.mjs');
  const dist = ensureDist(what);
  return {
    runsFrom: process.env['STRANGLER_FROM_SOURCE'] === '1' || dist.state !== 'fresh' ? 'src (tsx)' : 'dist',
    nodeFlags: sidecarNodeFlags(),
  };
}

/** The node flags of the bin's #! line (`#!/usr/bin/env -S node --flag …`): what a sidecar runs with. */
export function sidecarNodeFlags(): string[] {
  const first = readFileSync(SIDECAR_BIN, 'utf8').split('\n', 1)[0]!;
  const words = first
    .replace(/^#!\S*\s*(-S\s+)?/, '')
    .split(/\s+/)
    .filter(Boolean);
  return words[0] === 'node' ? words.slice(1) : [];
}

/**
 * The command line that runs the bin as shipped: the bin as a file, or, with extra node flags
 * (some, like --cpu-prof, are refused in NODE_OPTIONS), node with the #! line's flags and those.
 */
export function sidecarCommand(args: string[], extraNodeFlags: string[] = []): [string, string[]] {
  if (!extraNodeFlags.length) return [SIDECAR_BIN, args];
  return [process.execPath, [...sidecarNodeFlags(), ...extraNodeFlags, SIDECAR_BIN, ...args]];
}

/** The environment for a sidecar child: this one's without STRANGLER_* and NODE_OPTIONS (the bench sets what it means). */
export function sidecarEnv(set: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STRANGLER_') && k !== 'NODE_OPTIONS') env[k] = v;
  return Object.assign(env, set);
}
