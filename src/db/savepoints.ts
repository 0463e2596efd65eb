import type { Executor } from './executor.ts';

let counter = 0;

/** Runs fn inside a SAVEPOINT on an executor that already holds an open transaction. */
export async function withSavepoint<T>(tx: Executor, fn: (tx: Executor) => Promise<T>): Promise<T> {
  const name = `sp_${++counter}`;
  await tx.query(`SAVEPOINT ${name}`);
  try {
    const result = await fn(tx);
    await tx.query(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (err) {
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`);
    throw err;
  }
}
