import type { ErrorRequestHandler, RequestHandler } from 'express';

/**
 * Errors in the RealWorld shape, `{"errors": {"body": ["…"]}}`: 422 for bad input, 401
 * without a valid token, 403 for someone else's article, 404 for an unknown slug, user or route.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const unprocessable = (message: string) => new HttpError(422, message);
export const unauthorized = () => new HttpError(401, 'missing or invalid token');
export const notFound = (what: string) => new HttpError(404, `${what} not found`);

export const notFoundHandler: RequestHandler = (req, _res, next) => next(new HttpError(404, `no route for ${req.method} ${req.path}`));

export function errorHandler(onError: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, next) => {
    if (res.headersSent) {
      onError(err);
      next(err);
      return;
    }
    const [status, message] = toStatus(err, onError);
    res.status(status).json({ errors: { body: [message] } });
  };
}

function toStatus(err: unknown, onError: (err: unknown) => void): [number, string] {
  if (err instanceof HttpError) return [err.status, err.message];
  const e = (err ?? {}) as { type?: string; status?: number; code?: string };
  if (e.type === 'entity.parse.failed') return [422, 'request body is not valid JSON'];
  if (e.code === 'ER_DUP_ENTRY') return [422, 'has already been taken'];
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) return [e.status, 'the request could not be read'];
  onError(err);
  return [500, 'unexpected error; see the service log'];
}
