// The misbehaving dependency: an HTTP server on loopback whose behaviour follows the demo's phases.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Phase = 'fine' | 'slow' | 'failing' | 'recovered';

export interface Upstream {
  readonly url: string;
  /** Requests received since the last call. */
  takeCount(): number;
  /** Requests whose caller hung up before the answer (a timeout that cancelled the work), since the last call. */
  takeCancelled(): number;
  close(): Promise<void>;
}

export async function startUpstream(phaseNow: () => Phase, slowMs: number): Promise<Upstream> {
  let count = 0;
  let cancelled = 0;
  const server: Server = createServer((req, res) => {
    count++;
    const phase = phaseNow();
    if (phase === 'failing') {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end('{"error":"overloaded"}');
      return;
    }
    const delay = phase === 'slow' ? slowMs : 5 + Math.floor(Math.random() * 10);
    const timer = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: req.url?.split('/').pop(), price: 100 + Math.round(Math.random() * 50) }));
    }, delay);
    // A caller that gave up (weir's per-attempt timeout) closes the connection: stop the work.
    res.on('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) cancelled++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    takeCount() {
      const n = count;
      count = 0;
      return n;
    },
    takeCancelled() {
      const n = cancelled;
      cancelled = 0;
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
