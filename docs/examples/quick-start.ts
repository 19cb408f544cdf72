// The README's quick start, runnable: `node --import tsx docs/examples/quick-start.ts`.
// `readmeQuickStart` is the README's sample itself (the region below is copied into README.md, and
// test/docs/samples.test.ts checks that the two are equal); `quickStart` shows the same features with a timeout
// that really expires, on a clock that a test (test/docs.test.ts) can drive.
import { type Clock, compose, fallback, isTimeoutError, systemClock, timeout } from '../../src/index.js';

/** Stand-ins for an application's database, HTTP client and incoming request, so that the sample runs anywhere. */
const db = { users: { find: async (id: string) => ({ id, name: `user ${id}` }) } };
const fetch = async (url: string, init: { signal: AbortSignal }): Promise<Response> => {
  if (init.signal.aborted) throw init.signal.reason;
  const id = url.slice(url.lastIndexOf('/') + 1);
  if (id === 'unknown') throw new TypeError('fetch failed');
  return Response.json({ id, name: `user ${id}` });
};
const loadUser = async (signal: AbortSignal) => (signal.aborted ? undefined : { id: '7', name: 'user 7' });
const request = { signal: new AbortController().signal };

export async function readmeQuickStart(): Promise<string[]> {
  const log: string[] = [];
  // #region quick-start
  // Wrap a function: same parameters, async result.
  const getUser = timeout(2_000)(async (id: string) => db.users.find(id));

  // Let the timeout cancel the work: take the per-call context.
  const fetchUser = timeout(2_000).withContext((ctx, id: string) =>
    fetch(`https://api.example.com/users/${id}`, { signal: ctx.signal }),
  );

  // Compose: the first policy is the outermost. Type: (id: string) => Promise<Response | null>
  const fetchUserOrNull = compose(fallback(null), timeout(2_000)).withContext((ctx, id: string) =>
    fetch(`https://api.example.com/users/${id}`, { signal: ctx.signal }),
  );

  // Or run one call, with the caller's own signal.
  const user = await timeout(2_000).execute(({ signal }) => loadUser(signal), request.signal);

  // Errors have stable codes and guards that work across package copies.
  try {
    await getUser('42');
  } catch (e) {
    if (isTimeoutError(e)) console.log('slow database');
  }
  // #endregion quick-start
  log.push((await getUser('42')).name);
  log.push((await (await fetchUser('43')).json()).name);
  log.push(String(await fetchUserOrNull('unknown')));
  log.push(user?.name ?? 'none');
  return log;
}

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
  Promise.all([readmeQuickStart(), quickStart()])
    .then((logs) => console.log(logs.flat().join('\n')))
    .finally(() => clearInterval(keepAlive));
}
