import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'results');

export interface BenchResult {
  name: string;
  date: string;
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

export function writeResult(r: Omit<BenchResult, 'date' | 'machine'>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const full: BenchResult = {
    name: r.name,
    date: new Date().toISOString(),
    machine: machine(),
    settings: r.settings,
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
