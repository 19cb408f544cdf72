/**
 * Real redis-server processes for the tests, on free loopback ports, in temporary directories, with no
 * persistence. Never a mock. On CI (CI=true) a missing redis-server is an error; elsewhere the suites that
 * need it are skipped (`redisAvailable`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function hasBinary(name: string): boolean {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const redisAvailable: boolean = (() => {
  const present = hasBinary('redis-server') && hasBinary('redis-cli');
  if (!present && process.env.CI === 'true') {
    throw new Error('redis-server and redis-cli are required on CI (apt-get install redis-server)');
  }
  return present;
})();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Sends one inline command and returns the raw reply (enough for PING / CLUSTER INFO readiness checks). */
function rawCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let data = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.endsWith('\r\n')) {
        socket.end();
        resolve(data);
      }
    });
    socket.on('error', reject);
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export class RedisProcess {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly extraArgs: string[],
  ) {}

  static async start(extraArgs: string[] = []): Promise<RedisProcess> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `weir-redis-${port}-`));
    const redis = new RedisProcess(port, dir, extraArgs);
    await redis.spawn();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private async spawn(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
      ...this.extraArgs,
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    child.unref();
    await waitFor(`redis-server on ${this.port}`, async () => (await rawCommand(this.port, 'PING')).startsWith('+PONG'));
  }

  /** SIGKILL: the server vanishes mid-traffic. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // The child is unref'd so that it never keeps a test run alive; while we wait for it to go, it must
    // (a script whose last await is this one would otherwise end with "unsettled top-level await").
    child.ref();
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP: the server hangs (connections stay open, nothing answers). */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Starts again on the same port, empty (no persistence). */
  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  async stop(): Promise<void> {
    this.resume();
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Redis Cluster of `masters` masters (each with `replicas` replicas), all slots assigned, state ok. */
export class RedisCluster {
  private constructor(readonly nodes: RedisProcess[]) {}

  static async start(masters = 3, replicas = 0, nodeTimeoutMs = 2000, extraArgs: string[] = []): Promise<RedisCluster> {
    const nodes: RedisProcess[] = [];
    try {
      const started = await Promise.all(
        Array.from({ length: masters * (1 + replicas) }, () =>
          RedisProcess.start([
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(nodeTimeoutMs),
            ...extraArgs,
          ]),
        ),
      );
      nodes.push(...started);
      execFileSync(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...nodes.map((n) => `127.0.0.1:${n.port}`),
          '--cluster-replicas',
          String(replicas),
          '--cluster-yes',
        ],
        { stdio: 'ignore' },
      );
      for (const node of nodes) {
        await waitFor(`cluster state ok on ${node.port}`, async () =>
          (await rawCommand(node.port, 'CLUSTER INFO')).includes('cluster_state:ok'),
        );
      }
      if (replicas > 0) {
        // Replicas must have synced before a failover can promote one.
        for (const node of nodes) {
          await waitFor(`replication on ${node.port}`, async () => {
            const info = await rawCommand(node.port, 'INFO replication');
            return info.includes('role:master') || info.includes('master_link_status:up');
          });
        }
      }
    } catch (error) {
      await Promise.all(nodes.map((n) => n.stop()));
      throw error;
    }
    return new RedisCluster(nodes);
  }

  /** The process listening on `port`. */
  node(port: number): RedisProcess {
    const found = this.nodes.find((n) => n.port === port);
    if (found === undefined) throw new Error(`no cluster node on port ${port}`);
    return found;
  }

  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
