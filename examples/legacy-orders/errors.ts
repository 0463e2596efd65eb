import type { ErrorRequestHandler, RequestHandler } from 'express';

/**
 * The service's own error body: `{"error":"<code>","message":"<what went wrong>"}`.
 * Clients of the legacy service (and the sidecar's transparency tests) depend on it.
 */
export interface ErrorBody {
  error: string;
  message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const validationFailed = (message: string) => new HttpError(400, 'validation_failed', message);
export const orderNotFound = (id: string) => new HttpError(404, 'not_found', `Order ${id} not found`);

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/**
 * Registered last. Turns every failure (ours, body-parser's, the database's) into the
 * service's error body; unexpected errors become 500 and are reported through onError.
 */
export function errorHandler(onError: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, next) => {
    // Too late for a status line (e.g. mid-way through the NDJSON export): let express
    // close the connection, so the client sees a truncated response rather than a lie.
    if (res.headersSent) {
      onError(err);
      next(err);
      return;
    }
    const [status, body] = toResponse(err, onError);
    res.status(status).json(body);
  };
}

function toResponse(err: unknown, onError: (err: unknown) => void): [number, ErrorBody] {
  if (err instanceof HttpError) return [err.status, { error: err.code, message: err.message }];
  const parserError = (err ?? {}) as BodyParserError;
  switch (parserError.type) {
    case 'entity.parse.failed':
      return [400, { error: 'malformed_json', message: 'Request body is not valid JSON (an object is expected).' }];
    case 'entity.too.large':
      return [
        413,
        { error: 'payload_too_large', message: `Request body exceeds the limit of ${parserError.limit ?? 'the configured'} bytes.` },
      ];
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return [415, { error: 'unsupported_encoding', message: 'Request body encoding or charset is not supported.' }];
    case 'request.aborted':
      return [400, { error: 'request_aborted', message: 'The client aborted the request body.' }];
  }
  if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return [parserError.status, { error: 'bad_request', message: 'The request could not be read.' }];
  }
  onError(err);
  return [500, { error: 'internal_error', message: 'Unexpected error; see the service log.' }];
}
