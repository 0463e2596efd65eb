import { splitRoute } from '../config/routes.ts';
import type { CommandSpec, EntityConfig, ReadSpec } from '../config/schema.ts';

export type Route =
  { kind: 'command'; entity: string; spec: CommandSpec; route: string } | { kind: 'read'; entity: string; spec: ReadSpec; route: string };

export type Classified = { kind: 'passthrough' } | (Route & { params: Record<string, string> });

interface Compiled {
  segments: (string | { param: string })[];
  route: Route;
}

const PASSTHROUGH: Classified = Object.freeze({ kind: 'passthrough' });

/**
 * Method + path pattern → passthrough | command | read, compiled once at start-up.
 * Literal segments match case-insensitively; parameters keep the request's spelling.
 * Classification is on the hot path: a method with no routes costs one Map lookup, and
 * otherwise a path is split once and compared segment by segment (no regex per request).
 */
export function compileRouteTable(entities: Record<string, EntityConfig>) {
  const byMethod = new Map<string, Compiled[]>();
  const add = (routeText: string, route: Route) => {
    const { method, path } = splitRoute(routeText);
    const segments = path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => (s.startsWith(':') ? { param: s.slice(1) } : s.toLowerCase()));
    const list = byMethod.get(method) ?? [];
    // Literal segments win over parameters at the same position ("/orders/export" before "/orders/:id").
    list.push({ segments, route });
    list.sort((a, b) => specificity(b) - specificity(a));
    byMethod.set(method, list);
  };
  for (const [entity, e] of Object.entries(entities)) {
    for (const spec of e.commands) add(spec.route, { kind: 'command', entity, spec, route: spec.route });
    for (const spec of e.reads) add(spec.route, { kind: 'read', entity, spec, route: spec.route });
  }

  return {
    routes: [...byMethod.values()].flat().map((c) => c.route),
    classify(method: string | undefined, url: string | undefined): Classified {
      const candidates = byMethod.get(method ?? '');
      if (!candidates || !url) return PASSTHROUGH;
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      // Match at least as loosely as common legacy routers (Express: case-insensitive, empty
      // segments and a trailing slash ignored): a command legacy applies must not slip past
      // capture. Matching too loosely costs nothing, since a non-2xx answer records no event.
      const parts = path.split('/').filter((p) => p !== '');
      for (const c of candidates) {
        const params = match(c.segments, parts);
        if (params) return { ...c.route, params };
      }
      return PASSTHROUGH;
    },
  };
}

export type RouteTable = ReturnType<typeof compileRouteTable>;

function specificity(c: Compiled): number {
  return c.segments.reduce<number>((n, s, i) => n + (typeof s === 'string' ? 2 ** (16 - i) : 0), 0);
}

function match(segments: Compiled['segments'], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  let params: Record<string, string> | null = null;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const p = parts[i]!;
    if (typeof s === 'string') {
      if (s !== p && s !== p.toLowerCase()) return null;
    } else {
      let value: string;
      try {
        value = decodeURIComponent(p);
      } catch {
        return null; // a malformed escape is legacy's to answer: pass it through
      }
      (params ??= {})[s.param] = value;
    }
  }
  return params ?? {};
}
