// The README's quick start, runnable: `node --import tsx docs/examples/quick-start.ts`.
// A test (test/docs.test.ts) runs it on a virtual clock so that it is deterministic.
import { type Clock, compose, fallback, isTimeoutError, systemClock, timeout } from '../../src/index.js';

export async function quickStart(clock: Clock = systemClock): Promise<string[]> {
  const log: string[] = [];

  // 1. Wrap a function: same parameters, async result.
  const getUser = async (id: string) => ({ id, name: `user ${id}` });
  const limited = timeout({ ms: 50, clock })(getUser);
  log.push((await limited('42')).name);

  // 2. Let the timeout cancel the work itself: take the per-call signal.
  const slow = timeout({ ms: 50, clock }).withContext(
    (ctx, id: string) =>
      new Promise<string>((resolve, reject) => {
        const timer = clock.setTimer(() => resolve(id), 1_000);
        ctx.signal.addEventListener('abort', () => {
          clock.clearTimer(timer);
          reject(ctx.signal.reason);
        });
      }),
  );
  try {
    await slow('7');
  } catch (error) {
    log.push(isTimeoutError(error) ? 'timed out after 50 ms' : 'unexpected');
  }

  // 3. Compose: the first policy is the outermost. The result type is `string | 'cached'`.
  const resilient = compose(fallback('cached' as const), timeout({ ms: 50, clock }));
  const answer = await resilient.execute(
    ({ signal }) => new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
  );
  log.push(answer);

  // 4. Events: subscribe, and unsubscribe with the returned function.
  const guard = timeout({ ms: 50, clock });
  const off = guard.on('timeout', ({ timeoutMs }) => log.push(`event: timeout ${timeoutMs} ms`));
  await guard(() => new Promise<void>((resolve) => clock.setTimer(() => resolve(), 100)))().catch(() => {});
  off();
  return log;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // weir's timers never keep a process alive, and this demo's simulated work runs on weir's clock too,
  // so hold the process open until it is done (real work, a socket or a server, does that by itself).
  const keepAlive = setInterval(() => {}, 1_000);
  quickStart()
    .then((log) => console.log(log.join('\n')))
    .finally(() => clearInterval(keepAlive));
}
