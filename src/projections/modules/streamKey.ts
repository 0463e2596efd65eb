import { StranglerError } from '../../errors/StranglerError.ts';

/**
 * The stream category of a template: the fixed part before `{id}` (`orders-{id}` → `orders-`).
 * Every stream of the entity starts with it; a projection reads only those streams.
 */
export function streamCategory(template: string): string {
  const at = template.indexOf('{id}');
  if (at < 0) throw new StranglerError('invalid_stream_template', `Stream template "${template}" has no {id}; e.g. "orders-{id}".`);
  return template.slice(0, at);
}

/**
 * The aggregate key inside a stream id, from the entity's template (`orders-{id}` →
 * `orders-ord_1` gives `ord_1`). The stream is the aggregate's identity: every event of it
 * belongs to the same row, whatever its data says.
 */
export function streamKeyParser(template: string): (streamId: string) => string {
  const at = template.indexOf('{id}');
  if (at < 0) throw new StranglerError('invalid_stream_template', `Stream template "${template}" has no {id}; e.g. "orders-{id}".`);
  const prefix = template.slice(0, at);
  const suffix = template.slice(at + '{id}'.length);
  return (streamId) => {
    const ok = streamId.length > prefix.length + suffix.length && streamId.startsWith(prefix) && streamId.endsWith(suffix);
    if (!ok) {
      throw new StranglerError(
        'foreign_stream',
        `Stream "${streamId}" does not match the template "${template}"; this projection cannot tell which row it belongs to.`,
        {
          details: { streamId, template },
        },
      );
    }
    return streamId.slice(prefix.length, streamId.length - suffix.length);
  };
}
