import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StranglerError } from '../errors/StranglerError.ts';

/**
 * One owner per data directory. Two processes writing one embedded PGlite directory (or one
 * spool) corrupt it silently: duplicate positions, stream heads that disagree with the
 * events, lost read-model rows. So every directory the sidecar writes on its own disk is
 * claimed with a lock file, created atomically (O_EXCL), holding who claimed it.
 *
 * What must stay true:
 * - the file is created with `wx` and never overwritten in place: whoever creates it owns it;
 * - a lock is only taken over when its holder is provably gone: same host and the pid no
 *   longer exists (or is this very process, which does not hold it: a restarted container
 *   gets the same pid), or the pid now names another process (its start time differs from the
 *   one recorded, where /proc tells it). A holder on another host is never judged from here;
 * - release removes the file only while it is still ours (the nonce matches).
 */

export const LOCK_FILE = 'strangler.lock';

export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** What holds it: `strangler demo`, `embedded event store`, `spool`. */
  purpose: string;
  nonce: string;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat), so a reused pid is not taken for it. */
  procStart?: string;
}

export interface DataDirLock {
  readonly dir: string;
  readonly file: string;
  /** Removes the lock file if it is still this lock's. Idempotent. */
  release(): void;
}

export interface LockOptions {
  /** Shown to a second process: what this directory is used for. */
  purpose: string;
  /** The way out printed to a second process (e.g. "start the demo with --data DIR or `strangler demo memory`"). */
  hint: string;
  /** Where the one line about a stale lock taken over goes (default stderr). */
  warn?: (line: string) => void;
}

export class DataDirLockedError extends StranglerError {
  readonly holder: LockHolder | null;
  constructor(dir: string, file: string, holder: LockHolder | null, hint: string) {
    const who = holder
      ? `${holder.purpose}, pid ${holder.pid} on host ${holder.host}, since ${holder.since}`
      : `the lock file ${file} cannot be read`;
    super(
      'data_dir_locked',
      `The data directory ${dir} is in use by another process (${who}); two processes on one directory corrupt it. ` +
        `Stop that process, or ${hint}. If no such process is running, delete ${file}.`,
      { status: 409, details: { dir, file, holder } },
    );
    this.holder = holder;
  }
}

/** Locks held by this process, released at exit as a backstop (process.exit, an uncaught error). */
const held = new Map<string, { nonce: string }>();
let exitHookInstalled = false;

/**
 * Claims `dir` (created when missing) for this process, or throws DataDirLockedError naming
 * the holder and `opts.hint`. A stale lock (dead pid on this host) is taken over with one line.
 */
export function lockDataDir(dir: string, opts: LockOptions): DataDirLock {
  const absolute = path.resolve(dir);
  const file = path.join(absolute, LOCK_FILE);
  fs.mkdirSync(absolute, { recursive: true });
  const mine: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    purpose: opts.purpose,
    nonce: randomUUID(),
    ...withProcStart(process.pid),
  };
  const warn = opts.warn ?? ((line: string) => process.stderr.write(`${line}\n`));

  // Two rounds at most: create, or take a stale lock away and create again.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(file, mine)) return claimed(absolute, file, mine.nonce);
    const holder = readHolder(file);
    if (holder === undefined) continue; // removed between our create and our read: try again
    if (holder === null || !isStale(holder, file)) throw new DataDirLockedError(absolute, file, holder, opts.hint);
    if (!removeIfUnchanged(file, holder)) continue;
    warn(
      `data directory ${absolute}: took over a stale lock from pid ${holder.pid} on ${holder.host} (${holder.purpose}, since ${holder.since}); that process is gone`,
    );
  }
  if (tryCreate(file, mine)) return claimed(absolute, file, mine.nonce);
  throw new DataDirLockedError(absolute, file, readHolder(file) ?? null, opts.hint);
}

function claimed(dir: string, file: string, nonce: string): DataDirLock {
  held.set(file, { nonce });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const [f, { nonce: n }] of held) removeOwn(f, n);
    });
  }
  return {
    dir,
    file,
    release() {
      if (held.get(file)?.nonce !== nonce) return;
      held.delete(file);
      removeOwn(file, nonce);
    },
  };
}

function tryCreate(file: string, holder: LockHolder): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, `${JSON.stringify(holder)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** The holder written in the file; null when it cannot be parsed; undefined when the file is gone. */
function readHolder(file: string): LockHolder | null | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.nonce === 'string')
      return {
        pid: h.pid,
        host: h.host,
        since: String(h.since),
        purpose: String(h.purpose ?? 'strangler'),
        nonce: h.nonce,
        ...(typeof h.procStart === 'string' ? { procStart: h.procStart } : {}),
      };
  } catch {
    // A holder that died between creating the file and writing it leaves it empty: the
    // file's age decides below (an empty file older than a few seconds is abandoned).
  }
  return text.trim() === '' && ageMs(file) > 5_000
    ? { pid: -1, host: os.hostname(), since: 'unknown', purpose: 'unknown', nonce: '' }
    : null;
}

function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function isStale(holder: LockHolder, file: string): boolean {
  if (holder.host !== os.hostname()) return false;
  // This process does not hold it (we would have it in `held`): a previous life with the same pid.
  if (holder.pid === process.pid) return !held.has(file);
  if (holder.pid <= 0) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: the process exists under another user, so it is alive.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  // Alive: the holder itself, unless the pid was reused by a process started later.
  const now = procStartOf(holder.pid);
  return holder.procStart !== undefined && now !== undefined && now !== holder.procStart;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot); undefined where there is no /proc. */
export function procStartOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function withProcStart(pid: number): { procStart?: string } {
  const procStart = procStartOf(pid);
  return procStart === undefined ? {} : { procStart };
}

/**
 * Moves the stale file aside and checks that what moved is the stale lock we read. If another
 * process took the stale lock over in between, what moved is its fresh lock: put it back.
 */
function removeIfUnchanged(file: string, stale: LockHolder): boolean {
  const aside = `${file}.stale-${process.pid}-${randomUUID()}`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const moved = readHolder(aside);
  if (moved && moved.nonce === stale.nonce && moved.pid === stale.pid) {
    fs.rmSync(aside, { force: true });
    return true;
  }
  try {
    fs.linkSync(aside, file);
  } catch {
    // A third process created a lock meanwhile; it owns the directory now.
  }
  fs.rmSync(aside, { force: true });
  return false;
}

function removeOwn(file: string, nonce: string): void {
  try {
    const holder = readHolder(file);
    if (holder && holder.nonce === nonce) fs.rmSync(file, { force: true });
  } catch {
    // Best effort at exit: a lock left behind is taken over as stale by the next start.
  }
}
