import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { EntityConfig } from '../config/schema.ts';
import { buildEvents } from '../capture/buildEvents.ts';
import type { EventWriter } from '../capture/eventWriter.ts';
import type { RowReader } from '../capture/legacyRow.ts';
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
    // A create learns its key from the answer: the append still takes the key's turn.
    const outcome = route.params.id === undefined ? await opts.keyLock.run(captured.streamId, write) : await write();
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
    const key = route.params.id !== undefined ? entityConfig.stream.replace('{id}', route.params.id) : undefined;
    const work = async () => {
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
          await capture(req, route, requestId, body, answer);
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
    await (key ? opts.keyLock.run(key, work) : work());
  };
}
