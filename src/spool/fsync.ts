import fsp from 'node:fs/promises';

/**
 * fsync a directory so a file created, renamed or deleted in it survives a power cut.
 * A no-op when the spool was opened with `fsync: false` (tests, throwaway demos).
 */
export async function syncDir(dir: string, enabled: boolean): Promise<void> {
  if (!enabled) return;
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
