/**
 * A real Sentinel setup for the tests: a master, a replica of it, and one redis-sentinel (Debian's
 * package) watching them, on free loopback ports. On CI a missing redis-sentinel is an error; elsewhere the
 * suites that need it are skipped (`sentinelAvailable`).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, RedisProcess } from './redis-server.js';

export const sentinelAvailable: boolean = (() => {
  try {
    execFileSync('redis-sentinel', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.CI === 'true') throw new Error('redis-sentinel is required on CI (apt-get install redis-sentinel)');
    return false;
  }
})();

/** Sends one inline command and returns the raw reply (the first chunk). */
function raw(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(1000, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.once('data', (chunk) => {
      socket.end();
      resolve(chunk.toString());
    });
    socket.on('error', reject);
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const MASTER_NAME = 'weirmaster';

export class RedisSentinel {
  private constructor(
    readonly master: RedisProcess,
    readonly replica: RedisProcess,
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  static async start(): Promise<RedisSentinel> {
    const master = await RedisProcess.start();
    const replica = await RedisProcess.start(['--replicaof', '127.0.0.1', String(master.port)]);
    await waitFor('replica in sync', async () => (await raw(replica.port, 'INFO replication')).includes('master_link_status:up'));
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), `weir-sentinel-${port}-`));
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 1`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 10000`,
        '',
      ].join('\n'),
    );
    const child = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
    child.unref();
    const sentinel = new RedisSentinel(master, replica, port, child, dir);
    try {
      await waitFor('sentinel', async () => (await raw(port, 'PING')).startsWith('+PONG'));
      // A failover needs the sentinel to know the replica.
      await waitFor('sentinel sees the replica', async () =>
        (await raw(port, `SENTINEL REPLICAS ${MASTER_NAME}`)).includes(String(replica.port)),
      );
    } catch (error) {
      await sentinel.stop();
      throw error;
    }
    return sentinel;
  }

  get sentinels(): { host: string; port: number }[] {
    return [{ host: '127.0.0.1', port: this.port }];
  }

  /** The port of the master as the sentinel reports it now. */
  async masterPort(): Promise<number> {
    const reply = await raw(this.port, `SENTINEL GET-MASTER-ADDR-BY-NAME ${MASTER_NAME}`);
    return Number(reply.split('\r\n')[4]);
  }

  /** `SENTINEL FAILOVER`: the replica becomes the master; resolves once the sentinel reports the switch. */
  async failover(): Promise<number> {
    const before = await this.masterPort();
    const reply = await raw(this.port, `SENTINEL FAILOVER ${MASTER_NAME}`);
    if (!reply.startsWith('+OK')) throw new Error(`SENTINEL FAILOVER: ${reply.trim()}`);
    let after = before;
    await waitFor('the failover', async () => {
      after = await this.masterPort();
      return after !== before;
    });
    return after;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.ref();
      this.child.kill('SIGKILL');
      await exited;
    }
    await Promise.all([this.master.stop(), this.replica.stop()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
