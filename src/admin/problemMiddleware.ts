import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { StranglerError } from '../errors/StranglerError.ts';
import { json } from './adminServer.ts';
import { problem } from './routeKit.ts';

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
  message: string;
}

/**
 * The admin app's last middleware: whatever a route throws or passes to next() becomes
 * problem+json. Our errors keep their status and code (400 bad input, 404 unknown entity,
 * 409 a change that cannot hold); body-parser's become 400/413 with the reason; anything
 * else is logged and answered 500.
 */
export function problemMiddleware(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) return next(err);
    const send = (status: number, title: string, detail: string) =>
      json(res, status, problem(status, title, detail), status === 401 ? { 'www-authenticate': 'Bearer' } : {});
    if (err instanceof StranglerError && err.status < 500) {
      const title = err.status === 404 ? 'not_found' : err.code === 'usage' ? 'bad_request' : err.code;
      return send(err.status, title, err.message);
    }
    const parser = err as BodyParserError;
    if (parser.type === 'entity.parse.failed') return send(400, 'bad_request', `The body is not JSON: ${parser.message}.`);
    if (parser.type === 'entity.too.large') return send(413, 'body_too_large', `The body is over ${parser.limit ?? '?'} bytes.`);
    if (typeof parser.status === 'number' && parser.status >= 400 && parser.status < 500)
      return send(parser.status, 'bad_request', parser.message);
    logger.error({ err: err instanceof Error ? err.message : String(err), path: req.path }, 'admin request failed');
    send(500, 'internal_error', err instanceof Error ? err.message : String(err));
  };
}
