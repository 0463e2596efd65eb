/**
 * Load for bench/canary: wrk reading existing orders (GET /orders/ID, IDs cycled from a file)
 * with a sticky key header that varies per simulated user, so every leg sends the same keys in
 * the same order at the same pacing. Also the Prometheus text parsing the legs use to check
 * who answered (strangler_reads_total) and what the shadow compared.
 */
import { spawnSync } from 'node:child_process';
import { wrkResult } from './proxy.ts';

export interface ReadLoadSpec {
  url: string; // base URL, no trailing slash
  idsFile: string; // one order id a line
  connections: number;
  seconds: number;
  /** Distinct sticky keys (`user-0` … `user-(users-1)`) in the key header. */
  users: number;
  keyHeader: string;
  /** A random pause in [min, max] ms before each request (fixed seed: the same pauses in every leg); none = saturated. */
  delayRangeMs?: [number, number];
}

export interface ReadLoadResult {
  requests: number;
  rps: number;
  /** Socket errors, timeouts and answers other than 2xx/3xx. */
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export const WRK_READS_SCRIPT = `
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do if #line > 0 then ids[#ids + 1] = line end end
local users = tonumber(os.getenv("BENCH_USERS"))
local keyHeader = os.getenv("BENCH_KEY_HEADER")
local dmin = tonumber(os.getenv("BENCH_DELAY_MIN_MS") or "0")
local dmax = tonumber(os.getenv("BENCH_DELAY_MAX_MS") or "0")
local n = 0
request = function()
  local id = ids[(n % #ids) + 1]
  local headers = {}
  headers[keyHeader] = "user-" .. tostring(n % users)
  n = n + 1
  return wrk.format("GET", "/orders/" .. id, headers)
end
if dmax > 0 then
  math.randomseed(42)
  delay = function() return math.random(dmin, dmax) end
end
done = function(s, lat, req)
  local e = s.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    s.requests, s.duration, e.connect + e.read + e.write + e.status + e.timeout, lat:percentile(50), lat:percentile(99)))
end
`;

/** One wrk run (-t1) of the read load; wrk's own latency percentiles. */
export function wrkReads(wrk: string, scriptFile: string, spec: ReadLoadSpec): ReadLoadResult {
  const r = spawnSync(wrk, ['-t1', `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', '5s', '-s', scriptFile, `${spec.url}/`], {
    env: {
      ...process.env,
      BENCH_IDS_FILE: spec.idsFile,
      BENCH_USERS: String(spec.users),
      BENCH_KEY_HEADER: spec.keyHeader,
      BENCH_DELAY_MIN_MS: String(spec.delayRangeMs?.[0] ?? 0),
      BENCH_DELAY_MAX_MS: String(spec.delayRangeMs?.[1] ?? 0),
    },
    encoding: 'utf8',
    timeout: (spec.seconds + 20) * 1000,
  });
  return wrkResult(r);
}

/** Sum of a counter's samples whose labels include every `labels` pair (Prometheus text format). */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const own = line.slice(name.length + 1, close);
    if (Object.entries(labels).every(([k, v]) => own.includes(`${k}="${v}"`))) sum += Number(line.slice(close + 1).trim()) || 0;
  }
  return sum;
}

/** Per label value of `label`, how much a counter grew between two scrapes (only values that grew). */
export function grownBy(
  before: string,
  after: string,
  name: string,
  label: string,
  labels: Record<string, string> = {},
): Record<string, number> {
  const values = new Set<string>();
  const re = new RegExp(`^${name}\\{[^}]*\\b${label}="([^"]*)"`, 'gm');
  for (const m of after.matchAll(re)) values.add(m[1]!);
  const out: Record<string, number> = {};
  for (const v of values) {
    const d = sumSamples(after, name, { ...labels, [label]: v }) - sumSamples(before, name, { ...labels, [label]: v });
    if (d > 0) out[v] = d;
  }
  return out;
}
