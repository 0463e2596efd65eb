import type { ServerResponse } from 'node:http';
import type { Metrics } from '../metrics/metrics.ts';

/**
 * How an upstream failure is answered: 504 when legacy could not be reached or did not
 * answer in time, 502 when it answered with something that is not HTTP. Never a status
 * after the headers went out: then the client connection is cut, as legacy's was.
 */
export function classifyUpstreamError(err: NodeJS.ErrnoException): { status: 502 | 504; reason: string } {
  const code = err.code ?? '';
  if (code.startsWith('HPE_')) return { status: 502, reason: 'bad_response' };
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return { status: 504, reason: 'connect_failed' };
  if (code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT' || code === 'UPSTREAM_TIMEOUT') return { status: 504, reason: 'timeout' };
  // The connection dropped before a complete response head: legacy crashed mid-request.
  if (code === 'ECONNRESET' || err.message === 'socket hang up') return { status: 502, reason: 'connection_reset' };
  return { status: 502, reason: 'upstream_error' };
}

const BODIES: Record<string, string> = {
  connect_failed: 'The sidecar could not connect to the legacy service.',
  timeout: 'The legacy service did not answer in time.',
  bad_response: 'The legacy service sent a malformed HTTP response.',
  connection_reset: 'The legacy service closed the connection before answering.',
  upstream_error: 'The request to the legacy service failed.',
};

export function answerUpstreamError(
  err: NodeJS.ErrnoException,
  res: ServerResponse,
  metrics: Metrics | undefined,
  requestId: string | undefined,
): void {
  const { status, reason } = classifyUpstreamError(err);
  metrics?.upstreamErrors.inc({ reason });
  if (res.headersSent || res.writableEnded) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({
    type: `https://strangler-sidecar.dev/problems/upstream_${reason}`,
    title: `upstream_${reason}`,
    status,
    detail: BODIES[reason],
    ...(requestId ? { requestId } : {}),
  });
  res.writeHead(status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
    'x-strangler-error': reason,
  });
  res.end(body);
}
