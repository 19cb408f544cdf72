// `npm run demo`: weir protecting a service whose dependency misbehaves on a schedule.
// DEMO_SECONDS (default 30) sets the length; REDIS_URL, when set, keeps the per-client limits in Redis so
// that two demo processes share them. DEMO_OTEL=0 turns off the weir/otel metrics in the summary.

import type { RateLimitStore } from '../src/index.js';
import { type Service, startService } from './service.js';
import { startTelemetry, type Telemetry } from './telemetry.js';
import { type Phase, startUpstream } from './upstream.js';

const seconds = Math.max(4, Number(process.env.DEMO_SECONDS ?? 30));
const totalMs = seconds * 1000;
const PHASES: { phase: Phase; until: number; what: string }[] = [
  { phase: 'fine', until: 0.25, what: 'upstream healthy (5-15 ms)' },
  { phase: 'slow', until: 0.45, what: 'upstream slow (400 ms per answer, timeout is 150 ms)' },
  { phase: 'failing', until: 0.75, what: 'upstream failing (503, Retry-After: 1)' },
  { phase: 'recovered', until: 1, what: 'upstream healthy again' },
];

interface Second {
  t: number;
  phase: Phase;
  sent: number;
  upstreamAnswers: number;
  fallbacks: number;
  limited: number;
  shed: number;
  errors: number;
  upstreamCalls: number;
  upstreamCancelled: number;
  retries: number;
  maxRetryDelay: number;
  breaker: string;
  latencies: number[];
}

const newSecond = (t: number, phase: Phase): Second => ({
  t,
  phase,
  sent: 0,
  upstreamAnswers: 0,
  fallbacks: 0,
  limited: 0,
  shed: 0,
  errors: 0,
  upstreamCalls: 0,
  upstreamCancelled: 0,
  retries: 0,
  maxRetryDelay: 0,
  breaker: 'closed',
  latencies: [],
});

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const pad = (value: string | number, width: number) => String(value).padStart(width);

async function redisStoreFromEnv(): Promise<{ store: RateLimitStore; close: () => Promise<void> } | undefined> {
  const url = process.env.REDIS_URL;
  if (url === undefined || url === '') return undefined;
  const [{ Redis }, { redisStore }] = await Promise.all([import('ioredis'), import('../adapters/redis/index.js')]);
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
  });
  // If Redis fails mid-demo, let requests through (fail open) rather than refusing everyone.
  return { store: redisStore({ client, prefix: 'weir-demo:', onError: 'allow' }), close: async () => void client.disconnect() };
}

async function main(): Promise<void> {
  // The schedule starts with the traffic, not before the servers: a slow start must not eat the first phase.
  let started = performance.now();
  const elapsed = () => performance.now() - started;
  const phaseNow = (): Phase => (PHASES.find((p) => elapsed() < p.until * totalMs) ?? PHASES[PHASES.length - 1]!).phase;
  const redis = await redisStoreFromEnv();
  const upstream = await startUpstream(phaseNow, 400);
  const telemetry: Telemetry | undefined = process.env.DEMO_OTEL === '0' ? undefined : startTelemetry();
  const service: Service = await startService({
    upstream: upstream.url,
    breakerOpenMs: Math.max(300, totalMs / 15),
    ...(redis === undefined ? {} : { store: redis.store }),
    ...(telemetry === undefined ? {} : { observe: telemetry.observe }),
  });
  console.log(
    `weir demo: ${seconds} s, per-client limits in ${redis === undefined ? 'memory' : `Redis (${process.env.REDIS_URL})`}`,
  );
  console.log(`service ${service.url} -> upstream ${upstream.url}`);
  console.log(
    'clients: 6 steady (8 req/s each, limit 10/s), 1 greedy (40 req/s), 3 bursts of 60; service sheds above 40 in flight\n',
  );

  started = performance.now();
  let current = newSecond(0, phaseNow());
  const history: Second[] = [];
  const inFlight = new Set<Promise<void>>();

  const send = (client: string) => {
    const second = current;
    second.sent++;
    const t0 = performance.now();
    const request = fetch(`${service.url}/quote/${Math.floor(Math.random() * 100)}`, { headers: { 'x-client': client } })
      .then(async (res) => {
        const source = res.headers.get('x-source');
        await res.arrayBuffer();
        const s = current;
        if (res.status === 429) s.limited++;
        else if (res.status === 503) s.shed++;
        else if (res.status !== 200) s.errors++;
        else {
          if (source === 'fallback') s.fallbacks++;
          else s.upstreamAnswers++;
          s.latencies.push(performance.now() - t0);
        }
      })
      .catch(() => {
        current.errors++;
      })
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  };

  const timers: NodeJS.Timeout[] = [];
  for (let c = 0; c < 6; c++) timers.push(setInterval(() => send(`steady-${c}`), 125));
  timers.push(setInterval(() => send('greedy'), 25));
  // Bursts of 60 simultaneous requests from new clients: early in the fine phase, and just as the upstream
  // turns slow (before the breaker has seen enough to open), when each request holds its slot longest.
  for (const at of [0.1, 0.27, 0.85]) {
    timers.push(
      setTimeout(() => {
        for (let i = 0; i < 60; i++) send(`burst-${i}`);
      }, at * totalMs),
    );
  }

  console.log('   t phase      | sent  up  fb 429 503 err | upstream retries | breaker   |  p50   p99');
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const done = current;
      done.upstreamCalls = upstream.takeCount();
      done.upstreamCancelled = upstream.takeCancelled();
      done.retries = service.takeRetries();
      done.maxRetryDelay = service.takeMaxRetryDelay();
      done.breaker = service.breakerState();
      history.push(done);
      const { t, phase } = done;
      console.log(
        `${pad(t + 1, 3)}s ${phase.padEnd(10)} | ${pad(done.sent, 4)} ${pad(done.upstreamAnswers, 3)} ${pad(done.fallbacks, 3)} ${pad(done.limited, 3)} ${pad(done.shed, 3)} ${pad(done.errors, 3)} | ${pad(done.upstreamCalls, 8)} ${pad(done.retries, 7)} | ${done.breaker.padEnd(9)} | ${pad(Math.round(percentile(done.latencies, 50)), 4)} ${pad(Math.round(percentile(done.latencies, 99)), 5)}`,
      );
      if (history.length >= seconds) {
        clearInterval(tick);
        resolve();
        return;
      }
      current = newSecond(history.length, phaseNow());
    }, 1000);
  });
  for (const timer of timers) clearTimeout(timer);
  await Promise.allSettled([...inFlight]);
  await service.close();
  await upstream.close();
  await redis?.close();

  report(history);
  if (telemetry !== undefined) {
    console.log('\nMetrics (weir/otel, read from an OpenTelemetry MeterProvider)');
    for (const line of await telemetry.summary()) console.log(line);
    await telemetry.close();
  }
}

function report(history: Second[]): void {
  const symbol: Record<string, string> = { closed: '.', open: 'O', 'half-open': 'h' };
  const bars = ' ▁▂▃▄▅▆▇█';
  const errorRate = (s: Second) => {
    const answered = s.upstreamAnswers + s.fallbacks;
    return answered === 0 ? 0 : s.fallbacks / answered;
  };
  console.log('\nbreaker    ' + history.map((s) => symbol[s.breaker] ?? '?').join('') + '   (. closed, O open, h half-open)');
  console.log(
    'fallbacks  ' +
      history.map((s) => bars[Math.round(errorRate(s) * 8)]).join('') +
      '   (share of answers served by the fallback)',
  );
  const phaseSymbol: Record<Phase, string> = { fine: '-', slow: 's', failing: 'X', recovered: '+' };
  console.log('phases     ' + history.map((s) => phaseSymbol[s.phase]).join('') + '   (- fine, s slow, X failing, + recovered)');

  console.log('\nSummary');
  const sum = (list: Second[], pick: (s: Second) => number) => list.reduce((n, s) => n + pick(s), 0);
  const totals = { sent: 0, limited: 0, shed: 0, errors: 0 };
  for (const { phase, what } of PHASES) {
    const part = history.filter((s) => s.phase === phase);
    if (part.length === 0) continue;
    const sent = sum(part, (s) => s.sent);
    const up = sum(part, (s) => s.upstreamAnswers);
    const fb = sum(part, (s) => s.fallbacks);
    const limited = sum(part, (s) => s.limited);
    const shed = sum(part, (s) => s.shed);
    const errors = sum(part, (s) => s.errors);
    const calls = sum(part, (s) => s.upstreamCalls);
    const retries = sum(part, (s) => s.retries);
    const cancelled = sum(part, (s) => s.upstreamCancelled);
    const longestWait = Math.max(0, ...part.map((s) => s.maxRetryDelay));
    const opened = part.filter((s) => s.breaker !== 'closed').length;
    const p99 = Math.round(
      percentile(
        part.flatMap((s) => s.latencies),
        99,
      ),
    );
    totals.sent += sent;
    totals.limited += limited;
    totals.shed += shed;
    totals.errors += errors;
    const from = part[0]!.t;
    const to = part[part.length - 1]!.t + 1;
    console.log(`- ${phase} (${from}-${to} s): ${what}.`);
    console.log(
      `    ${sent} requests: ${up} answered from upstream, ${fb} from the fallback, ${limited} rate limited (429), ${shed} shed (503), ${errors} errors; p99 ${p99} ms.`,
    );
    const notes: string[] = [];
    notes.push(`${calls} upstream calls and ${retries} retries for ${up + fb} answers`);
    if (opened > 0)
      notes.push(`the breaker was open or probing for ${opened} of ${part.length} s, so calls failed fast to the fallback`);
    else notes.push('the breaker stayed closed');
    if (cancelled > 0) {
      notes.push(
        `the 150 ms per-attempt timeout cut ${cancelled} slow attempts short (the upstream saw their connections close)`,
      );
    }
    if (retries > 0)
      notes.push(`the longest wait before a retry was ${Math.round(longestWait)} ms (Retry-After is capped at 300 ms)`);
    if (shed > 0) notes.push('load shedding answered 503 at once instead of queueing');
    if (limited > 0) notes.push('the greedy client was held to its 10 req/s');
    console.log(`    ${notes.join('; ')}.`);
  }
  console.log(
    `Total: ${totals.sent} requests, ${totals.limited} rate limited, ${totals.shed} shed, ${totals.errors} errors (requests that got no answer).`,
  );
}

// No process.exit on success: the demo must leave nothing running (a leaked timer, socket or server would
// keep the process alive, and the test that runs it would notice).
main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
