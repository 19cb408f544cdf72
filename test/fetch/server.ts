/**
 * A real HTTP server on loopback (port 0) that the tests script: each request takes the next fault from
 * the queue (a 200 "ok" when it is empty), and the server records what it saw: method, path, headers,
 * body, which connection carried it, and whether the client closed the connection before the response
 * was complete.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  /** Respond with this status, headers and body (after `delayMs` of real time, if given). */
  | { status: number; headers?: Record<string, string>; body?: string; delayMs?: number }
  /** Never respond. */
  | { hang: true }
  /** Destroy the connection without a response. */
  | { drop: true }
  /** Send the status, headers and a first chunk of the body, then nothing more. */
  | { partial: true; status: number; headers?: Record<string, string> };

export interface SeenRequest {
  readonly index: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  body: string;
  /** Which connection carried it (1 = the server's first). */
  readonly socket: number;
  /** The client closed the connection before the response was complete. */
  clientClosed: boolean;
  /** Resolves when the response is complete or the connection closed, whichever comes first. */
  readonly settled: Promise<void>;
}

export interface TestServer {
  readonly origin: string;
  readonly url: (path?: string) => string;
  readonly requests: SeenRequest[];
  /** Queues faults for the next requests, in order. */
  script(...faults: Fault[]): void;
  /** Faults queued and not used yet. */
  readonly unused: number;
  /** Resolves when the server has received `n` requests (bodies included). */
  received(n: number): Promise<void>;
  /** Connections closed so far, by id. */
  readonly closedSockets: Set<number>;
  close(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const queue: Fault[] = [];
  const requests: SeenRequest[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const socketIds = new WeakMap<Socket, number>();
  const closedSockets = new Set<number>();
  const sockets = new Set<Socket>();
  let nextSocket = 1;

  const notify = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i] as { n: number; resolve: () => void };
      if (requests.length >= waiter.n) {
        waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const fault = queue.shift() ?? { status: 200, body: 'ok' };
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const seen: SeenRequest = {
      index: requests.length,
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body: '',
      socket: socketIds.get(req.socket) ?? 0,
      clientClosed: false,
      settled,
    };
    res.on('close', () => {
      if (!res.writableFinished) seen.clientClosed = true;
      settle();
    });
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      seen.body += chunk;
    });
    req.on('error', () => {});
    req.on('end', () => {
      requests.push(seen);
      notify();
      if ('hang' in fault) return;
      if ('drop' in fault) {
        req.socket.destroy();
        return;
      }
      if ('partial' in fault) {
        res.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
        res.write('x'.repeat(1024));
        return;
      }
      const respond = () => {
        if (res.destroyed) return;
        res.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
        res.end(fault.body ?? '');
      };
      if (fault.delayMs === undefined) respond();
      else {
        const timer = setTimeout(respond, fault.delayMs);
        res.on('close', () => clearTimeout(timer));
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    const id = nextSocket++;
    socketIds.set(socket, id);
    sockets.add(socket);
    socket.on('close', () => {
      closedSockets.add(id);
      sockets.delete(socket);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (path = '/') => origin + path,
    requests,
    closedSockets,
    script: (...faults) => {
      queue.push(...faults);
    },
    get unused() {
      return queue.length;
    },
    received: (n) =>
      new Promise<void>((resolve) => {
        waiters.push({ n, resolve });
        notify();
      }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
}
