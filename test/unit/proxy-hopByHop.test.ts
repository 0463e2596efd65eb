import { describe, expect, it } from 'vitest';
import { HOP_BY_HOP, endToEndRawHeaders, stripRequestHopByHop } from '../../src/proxy/hopByHop.ts';

describe('endToEndRawHeaders', () => {
  it('drops every hop-by-hop header, whatever its case, and keeps the rest in order and case', () => {
    const raw = [
      'Content-Type',
      'application/json',
      'Connection',
      'keep-alive',
      'Keep-Alive',
      'timeout=5',
      'Transfer-Encoding',
      'chunked',
      'TE',
      'trailers',
      'Trailer',
      'X-Checksum',
      'Upgrade',
      'h2c',
      'Proxy-Connection',
      'keep-alive',
      'Proxy-Authenticate',
      'Basic',
      'proxy-authorization',
      'Basic abc',
      'ETag',
      'W/"1"',
      'X-Powered-By',
      'Express',
    ];
    expect(endToEndRawHeaders(raw)).toEqual(['Content-Type', 'application/json', 'ETag', 'W/"1"', 'X-Powered-By', 'Express']);
  });

  it('also drops the headers named in Connection (several tokens, several Connection headers)', () => {
    const raw = ['Connection', 'close, X-Hop-One', 'X-Hop-One', 'a', 'connection', ' x-hop-two ', 'X-HOP-TWO', 'b', 'X-Keep', 'c'];
    expect(endToEndRawHeaders(raw)).toEqual(['X-Keep', 'c']);
  });

  it('keeps repeated end-to-end headers (Set-Cookie) in their order', () => {
    const raw = ['Set-Cookie', 'a=1', 'Connection', 'keep-alive', 'Set-Cookie', 'b=2'];
    expect(endToEndRawHeaders(raw)).toEqual(['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
  });

  it('takes its own drop list, which replaces the default one (the request side adds content-length)', () => {
    const raw = ['Content-Length', '3', 'Connection', 'close', 'Host', 'x'];
    expect(endToEndRawHeaders(raw, new Set([...HOP_BY_HOP, 'content-length']))).toEqual(['Host', 'x']);
    expect(endToEndRawHeaders(raw, new Set(['content-length']))).toEqual(['Connection', 'close', 'Host', 'x']);
  });

  it('the default list is the RFC 9110 set plus the proxy-* headers', () => {
    expect([...HOP_BY_HOP].sort()).toEqual([
      'connection',
      'keep-alive',
      'proxy-authenticate',
      'proxy-authorization',
      'proxy-connection',
      'te',
      'trailer',
      'transfer-encoding',
      'upgrade',
    ]);
  });
});

describe('stripRequestHopByHop (the passthrough request, parsed headers)', () => {
  it('removes the hop-by-hop headers and those Connection names, keeps framing, Host and the rest', () => {
    const headers: Record<string, string> = {
      host: 'x',
      connection: 'keep-alive, X-Hop, Content-Length, Host',
      'x-hop': '1',
      'keep-alive': 'timeout=9',
      te: 'trailers',
      trailer: 'x-sum',
      upgrade: 'h2c',
      'proxy-connection': 'keep-alive',
      'proxy-authorization': 'Basic abc',
      expect: '100-continue',
      'transfer-encoding': 'chunked',
      'content-length': '3',
      'x-keep': 'y',
    };
    stripRequestHopByHop(headers);
    expect(headers).toEqual({ host: 'x', 'transfer-encoding': 'chunked', 'content-length': '3', 'x-keep': 'y' });
  });

  it('a plain keep-alive or close removes only Connection', () => {
    for (const connection of ['keep-alive', 'close']) {
      const headers: Record<string, string> = { connection, close: 'not a hop', 'x-keep': 'y' };
      stripRequestHopByHop(headers);
      expect(headers).toEqual({ close: 'not a hop', 'x-keep': 'y' });
    }
  });
});
