import { matching } from './fields.ts';

/** Methods a command route may use: the ones that change state in the legacy service. */
export const COMMAND_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

const SEGMENT = String.raw`(?:[A-Za-z0-9._~-]+|:[A-Za-z_][A-Za-z0-9_]*)`;
const PATH = String.raw`\/(?:${SEGMENT}(?:\/${SEGMENT})*)?`;
const COMMAND_ROUTE = new RegExp(`^(?:${COMMAND_METHODS.join('|')}) ${PATH}$`);
const READ_ROUTE = new RegExp(`^GET ${PATH}$`);

export function commandRoute() {
  return matching(COMMAND_ROUTE, `"METHOD /path/:param" with METHOD one of ${COMMAND_METHODS.join(', ')}`);
}

export function readRoute() {
  return matching(READ_ROUTE, '"GET /path/:param"');
}

export interface RouteParts {
  method: string;
  path: string;
  /** Names of the `:param` segments, in order. */
  params: string[];
}

/** Splits a validated route ("POST /orders/:id/items") into method, path and parameter names. */
export function splitRoute(route: string): RouteParts {
  const space = route.indexOf(' ');
  const method = route.slice(0, space);
  const path = route.slice(space + 1);
  const params = path
    .split('/')
    .filter((s) => s.startsWith(':'))
    .map((s) => s.slice(1));
  return { method, path, params };
}

/** Two routes that match the same requests have the same shape: "GET /orders/:id" ≡ "GET /orders/:orderId". */
export function routeShape(route: string): string {
  return route.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, ':');
}
