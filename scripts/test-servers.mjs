#!/usr/bin/env node
// Runs before `npm test` (the `pretest` script): the int and e2e tiers start their own
// PostgreSQL 15 and MariaDB servers (test/harness), so their binaries must be on the
// machine, and the dashboard's browser test drives Debian's chromium (/usr/bin/chromium).
// Missing ones are installed with apt-get when this process may (root, or passwordless
// sudo); otherwise it says which command to run and stops before vitest.
// STRANGLER_TEST_PG_URL / STRANGLER_TEST_MYSQL_URL (servers you run yourself) skip the check
// for that server. It also builds dist/ when it is missing or stale (below).
import { accessSync, constants } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureDist } from './ensureDist.mjs';

// The sidecar's own code runs from src/ under vitest, but the projection and read modules the
// tests load (the samples among them) import `strangler-sidecar/…`, which resolves to the build
// (package.json exports): a clean clone builds it first, a stale build is rebuilt.
try {
  ensureDist('test-servers');
} catch (err) {
  console.error(err.message);
  process.exit(1);
}

const executable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};
const onPath = (name) =>
  [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'].some(
    (d) => d && executable(path.join(d, name)),
  );

const pgBin = process.env.STRANGLER_PG_BIN_DIR ?? '/usr/lib/postgresql/15/bin';
const missing = [];
if (!process.env.STRANGLER_TEST_PG_URL && !(executable(path.join(pgBin, 'postgres')) && executable(path.join(pgBin, 'initdb')))) {
  missing.push('postgresql-15');
}
if (!process.env.STRANGLER_TEST_MYSQL_URL && !(onPath('mariadbd') && onPath('mariadb-install-db'))) missing.push('mariadb-server');
// test/e2e/dashboard-browser.test.ts launches it through playwright-core (no browser download).
if (!executable('/usr/bin/chromium')) missing.push('chromium');
if (missing.length === 0) process.exit(0);

const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
const isRoot = process.getuid?.() === 0;
const sudoOk = !isRoot && onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
if (!onPath('apt-get') || (!isRoot && !sudoOk)) {
  console.error(
    `The integration tests start their own database servers (and the dashboard test a browser); missing: ${missing.join(', ')}.\n` +
      `Install them (${command}), or point the tests at servers you run: STRANGLER_TEST_PG_URL / STRANGLER_TEST_MYSQL_URL.`,
  );
  process.exit(1);
}
console.log(`Installing the test database servers: ${missing.join(', ')} (${command})`);
const run = (args) =>
  execFileSync(isRoot ? args[0] : 'sudo', isRoot ? args.slice(1) : ['-n', ...args], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
run(['apt-get', 'update']);
run(['apt-get', 'install', '-y', '--no-install-recommends', ...missing]);
