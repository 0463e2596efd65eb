import path from 'node:path';
import type { ConfigSpec } from './schema.ts';

/**
 * Makes the file paths of the spec absolute. A path written in the file is relative to the
 * file's directory (so the file means the same wherever the process starts); a default or
 * an environment override is relative to the working directory, like the embedded store's
 * `./data/eventstore`. `writtenInFile(path)` says which one a field is.
 */
export function resolvePaths(
  spec: ConfigSpec,
  opts: { baseDir: string; cwd: string; writtenInFile: (path: string) => boolean },
): ConfigSpec {
  const abs = (p: string, field: string) => path.resolve(opts.writtenInFile(field) ? opts.baseDir : opts.cwd, p);
  const url = spec.eventStore.url;
  return {
    ...spec,
    eventStore: {
      ...spec.eventStore,
      url: url.startsWith('embedded:') ? `embedded:${abs(url.slice('embedded:'.length), 'eventStore.url')}` : url,
      spool: { ...spec.eventStore.spool, path: abs(spec.eventStore.spool.path, 'eventStore.spool.path') },
    },
    entities: Object.fromEntries(
      Object.entries(spec.entities).map(([name, e]) => [
        name,
        {
          ...e,
          projection: e.projection === 'row' || e.projection.startsWith('of:') ? e.projection : path.resolve(opts.baseDir, e.projection),
          reads: e.reads.map((r) => (r.handler === undefined ? r : { ...r, handler: path.resolve(opts.baseDir, r.handler) })),
        },
      ]),
    ),
  };
}
