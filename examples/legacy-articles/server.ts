import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLegacyArticlesApp, type LegacyArticlesOptions } from './app.ts';

export interface StartLegacyArticlesOptions extends LegacyArticlesOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RunningLegacyArticles {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  server: Server;
  /** Stops accepting connections and waits for open ones to finish. Does not close the database. */
  close(): Promise<void>;
}

export async function startLegacyArticles(opts: StartLegacyArticlesOptions): Promise<RunningLegacyArticles> {
  const { port = 0, host = '127.0.0.1', ...appOptions } = opts;
  const app = createLegacyArticlesApp(appOptions);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    server,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
