#!/usr/bin/env node
// Repository checks beyond the type checker: focused tests left in, the environment read
// outside the places allowed to read it, and files grown past one concept.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const walk = (dir) =>
  readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });

const problems = [];
for (const file of walk(path.join(root, 'test'))) {
  const text = readFileSync(file, 'utf8');
  if (/\b(it|describe|test)\.only\(/.test(text)) problems.push(`${path.relative(root, file)}: focused test (.only) left in`);
}
// The environment is read once, in config (and the CLI/logging entry points), never deep in the code.
const ENV_ALLOWED = /^src\/(config|cli|logging)\//;
for (const file of walk(path.join(root, 'src'))) {
  const rel = path.relative(root, file);
  const text = readFileSync(file, 'utf8');
  if (!ENV_ALLOWED.test(rel) && /process\.env\b/.test(text)) problems.push(`${rel}: reads process.env; pass the value in from config`);
  const lines = text.split('\n').length;
  if (lines > 400) problems.push(`${rel}: ${lines} lines; split it by concept`);
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: ok');
