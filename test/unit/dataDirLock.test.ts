import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, LOCK_FILE, lockDataDir, procStartOf, type DataDirLock } from '../../src/lock/dataDirLock.ts';
import { createPgliteExecutor } from '../../src/db/pgliteExecutor.ts';
import { openSpool } from '../../src/spool/index.ts';
import net from 'node:net';
import { loadConfig } from '../../src/config/index.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { startSidecar } from '../../src/sidecar.ts';

const HOLDER = path.resolve('test/fixtures/lock/holdLock.ts');
const dirs: string[] = [];
const children: ChildProcess[] = [];
const locks: DataDirLock[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strangler-lock-'));
  dirs.push(dir);
  return dir;
}

/** Starts holdLock.ts on `dir`; resolves with its first line ("locked PID" or "refused ...") and the child. */
function holder(dir: string): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, line: out.slice(0, nl) });
    });
    child.once('exit', (code) => reject(new Error(`holder exited with ${code} before a line: ${out}`)));
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
  );

/** The pid of a process that has already exited (so it is dead on this host). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await exited(child);
  return child.pid!;
}

afterEach(() => {
  for (const l of locks.splice(0)) l.release();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('data directory lock', () => {
  it('a second process is refused while the first holds the directory, with the holder named', async () => {
    const dir = tempDir();
    const first = await holder(dir);
    expect(first.line).toBe(`locked ${first.child.pid}`);

    const second = await holder(dir).catch((e: Error) => e);
    expect(second).not.toBeInstanceOf(Error);
    const { child, line } = second as { child: ChildProcess; line: string };
    expect(line).toContain(`in use by another process (lock test holder, pid ${first.child.pid} on host ${os.hostname()}, since `);
    expect(line).toContain('use another directory');
    expect(await exited(child)).toBe(2);

    // And this process too, through the error type callers map to exit status 2.
    let err: unknown;
    try {
      lockDataDir(dir, { purpose: 'test', hint: 'pick another' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as DataDirLockedError).code).toBe('data_dir_locked');
    expect((err as DataDirLockedError).holder?.pid).toBe(first.child.pid);
  });

  it('the lock is released when its holder exits, and the directory can be claimed again', async () => {
    const dir = tempDir();
    const { child } = await holder(dir);
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(true);
    child.stdin!.write('exit\n');
    expect(await exited(child)).toBe(0);
    expect(fs.existsSync(path.join(dir, LOCK_FILE))).toBe(false);
    locks.push(lockDataDir(dir, { purpose: 'test', hint: '' }));
  });

  it('a stale lock from a dead pid on this host is taken over, with one line saying so', async () => {
    const dir = tempDir();
    const pid = await deadPid();
    const stale = { pid, host: os.hostname(), since: '2026-01-01T00:00:00.000Z', purpose: 'strangler demo', nonce: 'old' };
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(stale));
    const lines: string[] = [];
    locks.push(lockDataDir(dir, { purpose: 'test', hint: '', warn: (l) => lines.push(l) }));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `took over a stale lock from pid ${pid} on ${os.hostname()} (strangler demo, since 2026-01-01T00:00:00.000Z)`,
    );
    const now = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8')) as { pid: number };
    expect(now.pid).toBe(process.pid);
  });

  it('a pid now used by another process (start time differs) is a stale lock; the same start time is the holder', () => {
    // The parent of this test process stands for "a live process that got the holder's pid".
    const pid = process.ppid;
    const started = procStartOf(pid);
    expect(started).toMatch(/^\d+$/); // Linux: /proc is there
    const lock = (procStart: string) => ({
      pid,
      host: os.hostname(),
      since: '2026-01-01T00:00:00.000Z',
      purpose: 'strangler demo',
      nonce: 'n',
      procStart,
    });

    const reused = tempDir();
    fs.writeFileSync(path.join(reused, LOCK_FILE), JSON.stringify(lock(String(Number(started) - 1))));
    const lines: string[] = [];
    locks.push(lockDataDir(reused, { purpose: 'test', hint: '', warn: (l) => lines.push(l) }));
    expect(lines[0]).toContain(`took over a stale lock from pid ${pid}`);

    const live = tempDir();
    fs.writeFileSync(path.join(live, LOCK_FILE), JSON.stringify(lock(started!)));
    expect(() => lockDataDir(live, { purpose: 'test', hint: 'use another' })).toThrow(DataDirLockedError);
  });

  it('a lock held on another host is never taken over', async () => {
    const dir = tempDir();
    const other = { pid: await deadPid(), host: 'some-other-host', since: '2026-01-01T00:00:00.000Z', purpose: 'spool', nonce: 'x' };
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(other));
    expect(() => lockDataDir(dir, { purpose: 'test', hint: '' })).toThrow(/spool, pid \d+ on host some-other-host/);
  });

  it('one process cannot open a directory twice, and release frees it', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir, { purpose: 'test', hint: '' });
    expect(() => lockDataDir(dir, { purpose: 'again', hint: '' })).toThrow(DataDirLockedError);
    lock.release();
    lock.release();
    expect(fs.existsSync(lock.file)).toBe(false);
    locks.push(lockDataDir(dir, { purpose: 'again', hint: '' }));
  });

  it('an embedded database and a spool are locked while open and released on close', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const db = await createPgliteExecutor({ dataDir: path.join(dir, 'store') });
    await expect(createPgliteExecutor({ dataDir: path.join(dir, 'store') })).rejects.toThrow(/embedded database, pid/);
    await db.close();
    await (await createPgliteExecutor({ dataDir: path.join(dir, 'store') })).close();

    const spool = await openSpool({ dir: path.join(dir, 'spool'), fsync: false });
    await expect(openSpool({ dir: path.join(dir, 'spool'), fsync: false })).rejects.toThrow(/\(spool, pid .*eventStore\.spool\.path/);
    await spool.close();
    await (await openSpool({ dir: path.join(dir, 'spool'), fsync: false })).close();
  });

  it('a sidecar whose start-up fails (admin port taken) releases its store and spool directories', { timeout: 90_000 }, async () => {
    const dir = tempDir();
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const config = loadConfig({
        text: `legacy: { upstream: "http://127.0.0.1:9" }\neventStore: { url: "embedded:${path.join(dir, 'store')}", spool: { path: "${path.join(dir, 'spool')}" } }\n`,
        env: {},
      });
      Object.assign(config.server, { host: '127.0.0.1', port: 0 });
      Object.assign(config.admin, { host: '127.0.0.1', port: (taken.address() as net.AddressInfo).port });
      await expect(startSidecar({ config, logger: silentLogger(), spoolFsync: false })).rejects.toMatchObject({ code: 'EADDRINUSE' });
      expect(fs.existsSync(path.join(dir, 'store', LOCK_FILE))).toBe(false);
      expect(fs.existsSync(path.join(dir, 'spool', LOCK_FILE))).toBe(false);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});
