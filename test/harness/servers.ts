/**
 * Real PostgreSQL 15 and MariaDB 10.11 servers for tests and benchmarks, each in a temp
 * directory of its own on a free loopback port.
 *
 * What must stay true:
 * - We hold the server's own pid (the binary is spawned directly, never through a shell,
 *   pg_ctl or runuser) and only ever signal that pid and its children. Other engineers'
 *   servers share the machine: nothing here looks a process up by name.
 * - PostgreSQL refuses to run as root; as root we spawn it with the `postgres` user's
 *   uid/gid (libuv drops supplementary groups) and hand it a directory it owns.
 * - `kill()` is a crash, not a shutdown: fault tests rely on the data directory being left
 *   exactly as a power-cut-free process crash leaves it, so `start()` runs crash recovery.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';

export interface ServerHandle {
  /** Connection URL for the server's superuser (postgres / root, no password). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** pid of the running server process; undefined while it is stopped. Changes on restart. */
  readonly pid: number | undefined;
  /** The server's log (stdout, stderr and its own log output). */
  readonly logFile: string;
  /** Graceful shutdown (PostgreSQL fast shutdown: open sessions are disconnected). Idempotent. */
  stop(): Promise<void>;
  /** Immediate crash: SIGKILL to the server and every process it forked. Idempotent. */
  kill(signal?: 'SIGKILL'): Promise<void>;
  /** Starts the server again on the same data directory and port (after stop or kill). */
  start(): Promise<void>;
  /** stop() and remove the directories the harness created. */
  destroy(): Promise<void>;
}

export type PgServer = ServerHandle;
export type MariadbServer = ServerHandle;

export interface StartPostgresOptions {
  /** Default: a free port picked on 127.0.0.1. */
  port?: number;
  /** Reused when it already holds a cluster (PG_VERSION), otherwise initdb'd. Default: a fresh temp dir. */
  dataDir?: string;
  /** Extra server settings, passed as `-c name=value` (they override the defaults below). */
  settings?: Record<string, string>;
  /** Default false: `fsync=off`, which survives a process crash but not an OS crash. */
  fsync?: boolean;
  /** Directory holding `postgres` and `initdb`. Default: $STRANGLER_PG_BIN_DIR or /usr/lib/postgresql/15/bin. */
  binDir?: string;
  /** Milliseconds to wait for the server to accept connections. Default 60 000. */
  startTimeoutMs?: number;
}

export interface StartMariadbOptions {
  port?: number;
  /** Reused when it already holds a database (mysql/ directory), otherwise installed. Default: a fresh temp dir. */
  dataDir?: string;
  /** Extra server options, passed as `--name=value` (they override the defaults below). */
  settings?: Record<string, string>;
  /** Default false: innodb_flush_log_at_trx_commit=2, which survives a process crash but not an OS crash. */
  fsync?: boolean;
  startTimeoutMs?: number;
}

const DEFAULT_PG_BIN = '/usr/lib/postgresql/15/bin';
const LOG_TAIL_LINES = 40;

// ---------------------------------------------------------------------------------------
// PostgreSQL

export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PgServer> {
  const binDir = opts.binDir ?? process.env['STRANGLER_PG_BIN_DIR'] ?? DEFAULT_PG_BIN;
  const postgresBin = path.join(binDir, 'postgres');
  const initdbBin = path.join(binDir, 'initdb');
  if (!isExecutable(postgresBin) || !isExecutable(initdbBin)) {
    throw new Error(
      `PostgreSQL 15 not found in ${binDir} (need postgres and initdb). ` +
        'Install it: apt-get update && apt-get install -y postgresql-15 (or set STRANGLER_PG_BIN_DIR)',
    );
  }
  const owner = isRoot() ? postgresUser() : undefined;

  const runDir = await makeRunDir('strangler-pg-');
  if (owner) await fsp.chown(runDir, owner.uid, owner.gid);
  const logFile = path.join(runDir, 'postgres.log');
  const ownsDataDir = opts.dataDir === undefined || !fs.existsSync(opts.dataDir);
  const dataDir = path.resolve(opts.dataDir ?? path.join(runDir, 'data'));

  try {
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
      if (owner) await fsp.chown(dataDir, owner.uid, owner.gid);
      // C collation and UTF8 whatever the machine's locale: a container without LANG would
      // otherwise get SQL_ASCII, and text ordering must not differ between machines.
      await runToCompletion(initdbBin, ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], {
        logFile,
        owner,
        what: 'initdb',
      });
    }
  } catch (err) {
    await fsp.rm(runDir, { recursive: true, force: true });
    throw err;
  }

  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    fsync: opts.fsync ? 'on' : 'off',
    max_connections: '200',
    ...opts.settings,
  };

  return createHandle({
    name: 'PostgreSQL',
    runDir,
    dataDir,
    ownsDataDir,
    logFile,
    fixedPort: opts.port,
    startTimeoutMs: opts.startTimeoutMs ?? 60_000,
    url: (port) => `postgres://postgres@127.0.0.1:${port}/postgres`,
    command: (port) => ({
      cmd: postgresBin,
      args: ['-D', dataDir, '-p', String(port), '-k', runDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
      owner,
    }),
    ready: pgAccepts,
    // SIGINT is PostgreSQL's fast shutdown; SIGTERM (smart) would wait for every test's pool.
    stopSignal: 'SIGINT',
    // Backends are forked by the postmaster and each calls setsid(), so a process-group
    // kill misses them: they are found through /proc and killed one by one.
    killChildren: true,
    retryable: (log) =>
      /shared memory block is still in use/.test(log) ? 'retry' : /could not bind|Address already in use/.test(log) ? 'port' : 'fail',
  });
}

async function pgAccepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false; // refused while starting, or 57P03 "the database system is starting up"
  } finally {
    await client.end().catch(() => {});
  }
}

function postgresUser(): { uid: number; gid: number } {
  const line = readPasswd().find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) {
    throw new Error(
      'PostgreSQL refuses to run as root and there is no "postgres" user to run it as. ' +
        'Install it: apt-get update && apt-get install -y postgresql-15 (creates the user), or run the tests as a non-root user',
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

function readPasswd(): string[] {
  try {
    return fs.readFileSync('/etc/passwd', 'utf8').split('\n');
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------
// MariaDB

export async function startMariadb(opts: StartMariadbOptions = {}): Promise<MariadbServer> {
  const mariadbd = findExecutable('mariadbd');
  const installDb = findExecutable('mariadb-install-db');
  if (!mariadbd || !installDb) {
    throw new Error(
      `MariaDB server not found (${!mariadbd ? 'mariadbd' : 'mariadb-install-db'}). ` +
        'Install it: apt-get update && apt-get install -y mariadb-server',
    );
  }
  const user = os.userInfo().username;

  const runDir = await makeRunDir('strangler-mariadb-');
  const logFile = path.join(runDir, 'mariadb.log');
  const ownsDataDir = opts.dataDir === undefined || !fs.existsSync(opts.dataDir);
  const dataDir = path.resolve(opts.dataDir ?? path.join(runDir, 'data'));

  try {
    if (!fs.existsSync(path.join(dataDir, 'mysql'))) {
      // --no-defaults: /etc/mysql/my.cnf belongs to the machine's own server (socket,
      // log paths, bind address) and must not leak into ours.
      await runToCompletion(
        installDb,
        ['--no-defaults', `--datadir=${dataDir}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db'],
        { logFile, what: 'mariadb-install-db' },
      );
    }
  } catch (err) {
    await fsp.rm(runDir, { recursive: true, force: true });
    throw err;
  }

  const settings: Record<string, string> = {
    'bind-address': '127.0.0.1',
    socket: path.join(runDir, 'mysqld.sock'),
    'pid-file': path.join(runDir, 'mariadbd.pid'),
    'log-error': logFile,
    'character-set-server': 'utf8mb4',
    'collation-server': 'utf8mb4_bin',
    // TIMESTAMP text depends on the session zone: pin it so it never depends on the machine.
    'default-time-zone': '+00:00',
    'max-connections': '200',
    'innodb-buffer-pool-size': '256M',
    'innodb-log-file-size': '48M',
    'innodb-flush-log-at-trx-commit': opts.fsync ? '1' : '2',
    // io_uring / libaio are often unavailable in containers and CI sandboxes.
    'innodb-use-native-aio': '0',
    ...opts.settings,
  };

  return createHandle({
    name: 'MariaDB',
    runDir,
    dataDir,
    ownsDataDir,
    logFile,
    fixedPort: opts.port,
    startTimeoutMs: opts.startTimeoutMs ?? 60_000,
    url: (port) => `mysql://root@127.0.0.1:${port}/`,
    command: (port) => ({
      cmd: mariadbd,
      args: [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--user=${user}`,
        `--port=${port}`,
        '--skip-log-bin',
        ...Object.entries(settings).map(([k, v]) => `--${k}=${v}`),
      ],
    }),
    ready: mariadbAccepts,
    stopSignal: 'SIGTERM',
    killChildren: false,
    retryable: (log) => (/Bind on TCP\/IP port|Address already in use|Do you already have another/.test(log) ? 'port' : 'fail'),
  });
}

async function mariadbAccepts(url: string): Promise<boolean> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection({ uri: url, connectTimeout: 2_000 });
    await conn.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await conn?.end().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------
// The handle shared by both servers

interface Owner {
  uid: number;
  gid: number;
}

interface HandleSpec {
  name: string;
  runDir: string;
  dataDir: string;
  ownsDataDir: boolean;
  logFile: string;
  fixedPort: number | undefined;
  startTimeoutMs: number;
  url(port: number): string;
  command(port: number): { cmd: string; args: string[]; owner?: Owner | undefined };
  ready(url: string): Promise<boolean>;
  stopSignal: NodeJS.Signals;
  killChildren: boolean;
  /** What a failed start's log means: retry as is, retry on another port, or give up. */
  retryable(logSinceStart: string): 'retry' | 'port' | 'fail';
}

interface Running {
  child: ChildProcess;
  pid: number;
  exited: Promise<void>;
  done: boolean;
}

/**
 * Handles not yet destroyed, each with a synchronous last resort: when this process exits
 * without destroying them (a crashed test file, Ctrl-C: vitest turns SIGINT/SIGTERM into
 * process.exit), their servers are killed and their directories removed.
 */
const undestroyed = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const cleanup of undestroyed) cleanup();
  });
}

async function createHandle(spec: HandleSpec): Promise<ServerHandle> {
  installExitHook();
  let port = spec.fixedPort ?? (await freePort());
  let running: Running | undefined;
  let destroyed = false;
  let everStarted = false;
  const emergency = () => {
    if (running && !running.done) killNow(running.pid, spec.killChildren);
    fs.rmSync(spec.runDir, { recursive: true, force: true });
    if (spec.ownsDataDir) fs.rmSync(spec.dataDir, { recursive: true, force: true });
  };
  undestroyed.add(emergency);

  async function launchOnce(): Promise<void> {
    const logOffset = fileSize(spec.logFile);
    const { cmd, args, owner } = spec.command(port);
    const r = spawnServer(cmd, args, spec.logFile, owner);
    running = r;
    const deadline = Date.now() + spec.startTimeoutMs;
    const url = spec.url(port);
    for (;;) {
      if (r.done) {
        const log = readFrom(spec.logFile, logOffset);
        throw new StartError(
          `${spec.name} exited while starting (port ${port}, data ${spec.dataDir}). Log tail:\n${tail(log)}`,
          spec.retryable(log),
        );
      }
      if (await spec.ready(url)) return;
      if (Date.now() > deadline) {
        await killRunning(r, spec.killChildren);
        throw new StartError(
          `${spec.name} did not accept connections within ${spec.startTimeoutMs} ms (port ${port}). Log tail:\n${tail(readFrom(spec.logFile, logOffset))}`,
          'fail',
        );
      }
      await sleep(100);
    }
  }

  async function start(): Promise<void> {
    if (destroyed) throw new Error(`${spec.name} server was destroyed; start a new one`);
    if (running && !running.done) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await launchOnce();
        everStarted = true;
        return;
      } catch (err) {
        const kind = err instanceof StartError ? err.kind : 'fail';
        if (attempt >= 10 || kind === 'fail') throw err;
        // Another process took a port we picked between probing and binding: move, but
        // only before the first start (afterwards URLs are out and restarts keep the port).
        if (kind === 'port' && spec.fixedPort === undefined && !everStarted) port = await freePort();
        await sleep(200 * attempt);
      }
    }
  }

  const handle: ServerHandle = {
    get url() {
      return spec.url(port);
    },
    get port() {
      return port;
    },
    dataDir: spec.dataDir,
    logFile: spec.logFile,
    get pid() {
      return running && !running.done ? running.pid : undefined;
    },
    start,
    async stop() {
      const r = running;
      if (!r || r.done) return;
      try {
        process.kill(r.pid, spec.stopSignal);
      } catch {
        // exited on its own meanwhile
      }
      const stopped = await settlesWithin(r.exited, 60_000);
      if (!stopped) await killRunning(r, spec.killChildren);
    },
    async kill(signal: 'SIGKILL' = 'SIGKILL') {
      void signal; // only SIGKILL: anything gentler is stop()
      const r = running;
      if (!r || r.done) return;
      await killRunning(r, spec.killChildren);
    },
    async destroy() {
      if (destroyed) return;
      await handle.stop();
      destroyed = true;
      undestroyed.delete(emergency);
      await fsp.rm(spec.runDir, { recursive: true, force: true });
      if (spec.ownsDataDir) await fsp.rm(spec.dataDir, { recursive: true, force: true });
    },
  };

  try {
    await handle.start();
  } catch (err) {
    destroyed = true;
    undestroyed.delete(emergency);
    await fsp.rm(spec.runDir, { recursive: true, force: true });
    if (spec.ownsDataDir) await fsp.rm(spec.dataDir, { recursive: true, force: true });
    throw err;
  }
  return handle;
}

class StartError extends Error {
  constructor(
    message: string,
    readonly kind: 'retry' | 'port' | 'fail',
  ) {
    super(message);
    this.name = 'StartError';
  }
}

function spawnServer(cmd: string, args: string[], logFile: string, owner: Owner | undefined): Running {
  const fd = fs.openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      stdio: ['ignore', fd, fd],
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      env: serverEnv(),
    });
  } finally {
    fs.closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not spawn ${cmd}`);
  const r: Running = { child, pid: child.pid, done: false, exited: Promise.resolve() };
  r.exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      r.done = true;
      resolve();
    });
    child.once('error', () => {
      r.done = true;
      resolve();
    });
  });
  return r;
}

/**
 * SIGKILL the server and everything it forked, synchronously; returns the children it
 * found. The parent is frozen first (SIGSTOP) so it cannot fork a new child between
 * listing its children and dying.
 */
function killNow(pid: number, withChildren: boolean): number[] {
  let children: number[] = [];
  try {
    if (withChildren) {
      process.kill(pid, 'SIGSTOP');
      children = childPids(pid);
    }
    process.kill(pid, 'SIGKILL');
  } catch {
    // exited meanwhile
  }
  for (const c of children) {
    try {
      process.kill(c, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

async function killRunning(r: Running, withChildren: boolean): Promise<void> {
  if (r.done) return;
  const children = killNow(r.pid, withChildren);
  await r.exited;
  // PostgreSQL will not start while a dead postmaster's backends still hold its shared memory.
  const deadline = Date.now() + 10_000;
  while (children.some(isAlive) && Date.now() < deadline) await sleep(20);
}

function childPids(ppid: number): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return []; // not Linux: orphaned backends notice the dead postmaster and exit on their own
  }
  const out: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may contain spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(e));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runToCompletion(
  cmd: string,
  args: string[],
  o: { logFile: string; owner?: Owner | undefined; what: string },
): Promise<void> {
  const offset = fileSize(o.logFile);
  const fd = fs.openSync(o.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      stdio: ['ignore', fd, fd],
      ...(o.owner ? { uid: o.owner.uid, gid: o.owner.gid } : {}),
      env: serverEnv(),
    });
  } finally {
    fs.closeSync(fd);
  }
  const code = await new Promise<number | string>((resolve) => {
    child.once('exit', (c, sig) => resolve(c ?? sig ?? 'unknown'));
    child.once('error', (err) => resolve(err.message));
  });
  if (code !== 0) {
    throw new Error(`${o.what} failed (${code}): ${cmd} ${args.join(' ')}\nLog tail:\n${tail(readFrom(o.logFile, offset))}`);
  }
}

/** The environment minus libpq/MySQL client variables that would redirect the tools. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(PG|MYSQL_)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

// ---------------------------------------------------------------------------------------
// Small helpers

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

async function makeRunDir(prefix: string): Promise<string> {
  // As root the directory must be reachable by the postgres user: os.tmpdir() normally is
  // /tmp; STRANGLER_TEST_TMPDIR overrides it.
  const base = process.env['STRANGLER_TEST_TMPDIR'] ?? os.tmpdir();
  return fsp.mkdtemp(path.join(base, prefix));
}

/** A port nobody listens on right now. A race remains until the server binds; start() retries. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Looks on PATH and in the sbin directories a non-root PATH usually lacks. */
function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const f = path.join(d, name);
    if (isExecutable(f)) return f;
  }
  return undefined;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readFrom(file: string, offset: number): string {
  try {
    return fs.readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

function tail(text: string, lines = LOG_TAIL_LINES): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n') || '(log is empty)';
}

/** Whether p settles within ms; the timer is cleared either way so it never holds the process open. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
