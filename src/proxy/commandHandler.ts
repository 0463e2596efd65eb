import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { EntityConfig } from '../config/schema.ts';
import { buildEvents } from '../capture/buildEvents.ts';
import type { EventWriter } from '../capture/eventWriter.ts';
import type { LookupReader, RowReader } from '../capture/legacyRow.ts';
import { findByLookup, lookupValueBefore } from '../capture/lookup.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { forward, type UpstreamAnswer } from './forward.ts';
import type { KeyLock } from './keyLock.ts';
import { BodyTooLargeError, readBody } from './readBody.ts';
import type { Classified } from './routeTable.ts';
import { answerUpstreamError } from './upstreamErrors.ts';
import type { UpstreamHealth } from './upstreamHealth.ts';

export interface CommandHandlerOptions {
  upstream: URL;
  agent: http.Agent;
  timeoutMs: number;
  bodyLimitBytes: number;
  entities: Record<string, EntityConfig>;
  writer: EventWriter;
  keyLock: KeyLock;
  readRow?: RowReader;
  lookupRow?: LookupReader;
  actorHeader: string;
  actorJwtClaim?: string;
  metrics?: Metrics;
  logger: Logger;
  upstreamHealth?: UpstreamHealth;
}

type CommandRoute = Extract<Classified, { kind: 'command' }>;

/**
 * The dual-write path: buffer the command (size-limited), forward it unchanged, and on a
 * 2xx append its events before releasing legacy's answer (bounded wait, then the spool).
 * Commands on the same key are serialised from forwarding to append, so per key the
 * events are in the order legacy applied the commands. Non-2xx: no event.
 */
export function createCommandHandler(opts: CommandHandlerOptions) {
  const { logger, metrics } = opts;

  async function capture(
    req: IncomingMessage,
    route: CommandRoute,
    requestId: string,
    body: Buffer,
    answer: UpstreamAnswer,
    turn: { held?: string; identity?: string },
  ): Promise<void> {
    const entityConfig = opts.entities[route.entity]!;
    const captured = await buildEvents({
      entity: route.entity,
      entityConfig,
      command: route.spec,
      params: route.params,
      method: req.method ?? '',
      path: req.url ?? '',
      requestId,
      requestHeaders: req.headers,
      requestBody: body,
      responseStatus: answer.status,
      responseBody: answer.body,
      actorHeader: opts.actorHeader,
      ...(opts.actorJwtClaim !== undefined ? { actorJwtClaim: opts.actorJwtClaim } : {}),
      ...(opts.readRow ? { readRow: opts.readRow } : {}),
      ...(opts.lookupRow ? { lookupRow: opts.lookupRow } : {}),
      ...(turn.identity !== undefined ? { identity: turn.identity } : {}),
    });
    if (!captured.ok) {
      // Legacy applied the command but the spec cannot describe it: counted and logged for
      // ops; reconciliation finds the row and repair appends its after-image.
      metrics?.captureErrors.inc({ entity: route.entity, reason: captured.reason });
      logger.error(
        { requestId, entity: route.entity, route: route.route, reason: captured.reason, detail: captured.detail },
        `command not captured (${route.entity}, ${route.route}): ${captured.detail}`,
      );
      return;
    }
    const write = () => opts.writer.write(route.entity, captured.streamId, captured.events, route.spec.expectedVersion);
    // A create learns its key from the answer: the append still takes the key's turn. A
    // command holding a turn appends in it (taking a second key's turn could deadlock).
    const outcome = turn.held === undefined ? await opts.keyLock.run(captured.streamId, write) : await write();
    if (outcome === 'spooled') logger.debug({ requestId, streamId: captured.streamId }, 'events spooled');
  }

  return async function handleCommand(req: IncomingMessage, res: ServerResponse, route: CommandRoute, requestId: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(req, opts.bodyLimitBytes);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        metrics?.bodyTooLarge.inc();
        const problem = JSON.stringify({
          type: 'https://strangler-sidecar.dev/problems/body_too_large',
          title: 'body_too_large',
          status: 413,
          detail: `The request body exceeds ${err.limit} bytes (server.bodyLimitBytes); it was not sent to the service.`,
          requestId,
        });
        res.writeHead(413, {
          'content-type': 'application/problem+json',
          'content-length': Buffer.byteLength(problem),
          connection: 'close',
        });
        res.end(problem);
        return;
      }
      res.destroy();
      return;
    }
    const entityConfig = opts.entities[route.entity]!;
    const streamOf = (id: string) => entityConfig.stream.replace('{id}', id);
    const work = async (turn: { held?: string; identity?: string }) => {
      let answer: UpstreamAnswer;
      try {
        answer = await forward({ req, body, upstream: opts.upstream, agent: opts.agent, timeoutMs: opts.timeoutMs });
      } catch (err) {
        opts.upstreamHealth?.failed(err as NodeJS.ErrnoException);
        answerUpstreamError(err as NodeJS.ErrnoException, res, metrics, requestId);
        return;
      }
      opts.upstreamHealth?.succeeded();
      if (answer.status >= 200 && answer.status < 300) {
        try {
          await capture(req, route, requestId, body, answer, turn);
        } catch (err) {
          // Only a spool that cannot write lands here: nothing on disk, so say it loudly.
          metrics?.captureErrors.inc({ entity: route.entity, reason: 'spool_failed' });
          logger.error(
            { requestId, err },
            'events could NOT be recorded (event store and spool both failed); reconciliation repair is needed',
          );
        }
      }
      res.writeHead(answer.status, answer.statusMessage, answer.rawHeaders);
      res.end(req.method === 'HEAD' ? undefined : answer.body);
    };
    const lookup = route.spec.lookup;
    if (lookup === undefined) {
      const key = route.params.id !== undefined ? streamOf(route.params.id) : undefined;
      await (key ? opts.keyLock.run(key, () => work({ held: key })) : work({}));
      return;
    }
    // A lookup: find the row before forwarding when the value is known (route parameter,
    // request body), and take its stream's turn. Under the turn, look again: a rename that
    // held the turn may have moved the value to another row meanwhile (then take that turn).
    const value = lookupValueBefore(route.spec, route.params, body);
    const find = async () => {
      if (value === undefined) return undefined;
      const found = await findByLookup(opts.lookupRow, entityConfig, lookup.column, value);
      return found.ok ? found.id : undefined;
    };
    // Only a param or request lookup names the stream; a response lookup's value before
    // forwarding (a `:slug` route parameter) only orders the command.
    const names = lookup.response === undefined;
    let found = await find();
    for (let attempt = 0; found !== undefined; attempt++) {
      const identity = found;
      const held = streamOf(identity);
      const done = await opts.keyLock.run(held, async () => {
        if (attempt < 3 && (found = await find()) !== identity) return false;
        await work({ held, ...(names ? { identity } : {}) });
        return true;
      });
      if (done) return;
    }
    // Not found before forwarding (a create, or a row gone): resolved after the answer.
    await work({});
  };
}
