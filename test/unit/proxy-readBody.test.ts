import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyTooLargeError, readBody } from '../../src/proxy/readBody.ts';

/** A request body stream that records how often it was asked for data. */
function fakeRequest(chunks: Buffer[], headers: Record<string, string> = {}) {
  let reads = 0;
  const queue = [...chunks];
  const stream = new Readable({
    read() {
      reads++;
      this.push(queue.shift() ?? null);
    },
  });
  return { req: Object.assign(stream, { headers }) as unknown as IncomingMessage, reads: () => reads, stream };
}

const bytes = (n: number, fill = 'a') => Buffer.alloc(n, fill);

describe('readBody', () => {
  it('buffers the exact bytes of a body sent in several chunks', async () => {
    const { req } = fakeRequest([Buffer.from('{"a":'), Buffer.from('1}')]);
    expect((await readBody(req, 100)).toString()).toBe('{"a":1}');
  });

  it('an empty body is an empty buffer', async () => {
    const { req } = fakeRequest([]);
    expect((await readBody(req, 100)).length).toBe(0);
  });

  it('a body of exactly the limit is accepted', async () => {
    const { req } = fakeRequest([bytes(60), bytes(40)], { 'content-length': '100' });
    expect((await readBody(req, 100)).length).toBe(100);
  });

  it('a declared Content-Length over the limit is refused before a byte is read', async () => {
    const { req, reads, stream } = fakeRequest([bytes(101)], { 'content-length': '101' });
    await expect(readBody(req, 100)).rejects.toBeInstanceOf(BodyTooLargeError);
    expect(reads()).toBe(0);
    expect(stream.listenerCount('data')).toBe(0);
  });

  it('a chunked body (no Content-Length) is refused as soon as it crosses the limit, and the rest is drained', async () => {
    const { req, stream } = fakeRequest([bytes(40), bytes(40), bytes(40), bytes(40)]);
    const err = await readBody(req, 100).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyTooLargeError);
    expect((err as BodyTooLargeError).limit).toBe(100);
    expect(stream.listenerCount('data')).toBe(0);
    // Drained (flowing, nobody buffering) so a 413 can be written on a connection in a sane state.
    expect(stream.readableFlowing).toBe(true);
    await new Promise<void>((resolve) => (stream.readableEnded ? resolve() : stream.once('end', () => resolve())));
  });

  it('a Content-Length that lies low does not let a longer body past the limit', async () => {
    const { req } = fakeRequest([bytes(80), bytes(80)], { 'content-length': '10' });
    await expect(readBody(req, 100)).rejects.toBeInstanceOf(BodyTooLargeError);
  });

  it('a stream error rejects with that error', async () => {
    const stream = new Readable({ read() {} });
    const req = Object.assign(stream, { headers: {} }) as unknown as IncomingMessage;
    const p = readBody(req, 100);
    stream.destroy(new Error('client went away'));
    await expect(p).rejects.toThrow('client went away');
  });
});
