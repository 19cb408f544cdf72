/**
 * Where the memory store puts the usage of keys it must drop to keep its bound: a count-min sketch of
 * states. Two rows of `cols` cells; a key maps to one cell per row by a hash of its string. Folding a
 * state into a cell keeps, for each number, the more used of the two ("dominates": from then on the cell's
 * state never admits more than the folded one would):
 *
 * - token bucket (deficit, lastUs): the larger of each. At any later time t, max(d) - (t - max(l)) * rate
 *   >= d - (t - l) * rate for each folded (d, l), whatever the rate (so also across tiers).
 * - GCRA (tat): the larger. A larger theoretical arrival time is always more used.
 * - sliding counter (index, prev, cur): both aligned to the later window index (a count one window back
 *   becomes the previous window's; older counts weigh nothing), then the larger of each count.
 * - sliding log (newest time, live total): the larger of each, read back as one entry of the whole total
 *   at the newest time, which expires no earlier than any real entry.
 *
 * A key's estimate is the less used of its two cells (each dominates the key, so their minimum does too):
 * never less used than the key was when dropped, hence never a bypass. The cells forget everything once
 * the longest refill period has passed since the last fold, when every folded state is full.
 */
import type { AlgorithmConfig } from './store.js';

type Kind = AlgorithmConfig['kind'];

const WIDTH: Record<Kind, number> = { 'token-bucket': 2, gcra: 1, 'sliding-window-counter': 3, 'sliding-window-log': 2 };

/** FNV-1a over UTF-16 code units, then a second index from a mixed copy of the same hash. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function secondIndex(h: number): number {
  const m = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (m ^ (m >>> 12)) >>> 0;
}

/** The minimal map interface the fold reads (a generation of the table). */
interface Generation {
  forEach(fn: (slot: number, key: string) => void): void;
}

interface LogState {
  readonly times: readonly number[];
  readonly costs: readonly number[];
  readonly head: number;
  readonly total: number;
}

export class FloodSketch {
  private readonly width: number;
  private readonly cols: number;
  private cells: Float64Array | undefined;
  /** Until this time (µs) some folded state may still hold usage. */
  private liveUntil = 0;
  private readonly a = new Float64Array(3);
  private readonly b = new Float64Array(3);

  constructor(
    private readonly kind: Kind,
    half: number,
  ) {
    this.width = WIDTH[kind];
    let cols = 16;
    while (cols < half / 4) cols *= 2;
    this.cols = cols;
  }

  /** Whether any folded usage may be live at `now`; forgets everything once none can be. */
  live(now: number): boolean {
    if (now < this.liveUntil) return true;
    if (this.cells !== undefined) this.cells = undefined;
    return false;
  }

  /** Folds every state of a dropped generation that may still hold usage; returns how many it folded. */
  fold(keys: Generation, nums: Float64Array, logs: readonly (LogState | undefined)[], now: number, fullAfterUs: number): number {
    const width = this.width;
    const cells = this.cells ?? new Float64Array(2 * this.cols * width);
    this.cells = cells;
    const state = this.a;
    let folded = 0;
    const horizon = now - fullAfterUs;
    keys.forEach((slot, key) => {
      switch (this.kind) {
        case 'token-bucket': {
          const at = slot * 2;
          // Written more than the longest refill period ago: full, nothing to keep.
          if (nums[at] === 0 || (nums[at + 1] as number) <= horizon) return;
          state[0] = nums[at] as number;
          state[1] = nums[at + 1] as number;
          break;
        }
        case 'gcra':
          if (nums[slot] === 0) return;
          state[0] = nums[slot] as number;
          break;
        case 'sliding-window-counter': {
          const at = slot * 3;
          if (nums[at + 1] === 0 && nums[at + 2] === 0) return;
          state[0] = nums[at] as number;
          state[1] = nums[at + 1] as number;
          state[2] = nums[at + 2] as number;
          break;
        }
        default: {
          const log = logs[slot];
          if (log === undefined || log.times.length === log.head) return;
          const newest = log.times[log.times.length - 1] as number;
          if (newest <= horizon || log.total === 0) return;
          state[0] = newest;
          state[1] = log.total;
        }
      }
      folded++;
      const h = hashOf(key);
      this.merge(cells, (h & (this.cols - 1)) * width);
      this.merge(cells, (this.cols + (secondIndex(h) & (this.cols - 1))) * width);
    });
    if (folded > 0 && now + fullAfterUs > this.liveUntil) this.liveUntil = now + fullAfterUs;
    return folded;
  }

  /** Writes `key`'s estimated fixed-size state (dominating what it held when dropped) into `out`. */
  estimate(key: string, _now: number, config: AlgorithmConfig, out: Float64Array): void {
    const cells = this.cells;
    out[0] = 0;
    out[1] = 0;
    out[2] = 0;
    if (cells === undefined) return;
    const width = this.width;
    const h = hashOf(key);
    const i = (h & (this.cols - 1)) * width;
    const j = (this.cols + (secondIndex(h) & (this.cols - 1))) * width;
    if (config.kind === 'sliding-window-counter') {
      const a = this.a;
      const b = this.b;
      for (let n = 0; n < 3; n++) {
        a[n] = cells[i + n] as number;
        b[n] = cells[j + n] as number;
      }
      const index = Math.max(a[0] as number, b[0] as number);
      align(a, index);
      align(b, index);
      out[0] = index;
      out[1] = Math.min(a[1] as number, b[1] as number);
      out[2] = Math.min(a[2] as number, b[2] as number);
      return;
    }
    for (let n = 0; n < width; n++) out[n] = Math.min(cells[i + n] as number, cells[j + n] as number);
  }

  /** Writes `key`'s estimated log (one entry of its dominating total at its dominating newest time). */
  estimateLog(key: string, log: { times: number[]; costs: number[]; total: number }): void {
    const cells = this.cells;
    if (cells === undefined) return;
    const h = hashOf(key);
    const i = (h & (this.cols - 1)) * 2;
    const j = (this.cols + (secondIndex(h) & (this.cols - 1))) * 2;
    const total = Math.min(cells[i + 1] as number, cells[j + 1] as number);
    if (total === 0) return;
    log.times.push(Math.min(cells[i] as number, cells[j] as number));
    log.costs.push(total);
    log.total = total;
  }

  private merge(cells: Float64Array, at: number): void {
    const s = this.a;
    if (this.kind === 'sliding-window-counter') {
      const c = this.b;
      c[0] = cells[at] as number;
      c[1] = cells[at + 1] as number;
      c[2] = cells[at + 2] as number;
      const index = Math.max(c[0] as number, s[0] as number);
      // Align copies: the folded state in `a` is reused for the second row, so align a copy of it.
      const x0 = s[0] as number;
      const x1 = s[1] as number;
      const x2 = s[2] as number;
      align(c, index);
      align(s, index);
      cells[at] = index;
      cells[at + 1] = Math.max(c[1] as number, s[1] as number);
      cells[at + 2] = Math.max(c[2] as number, s[2] as number);
      s[0] = x0;
      s[1] = x1;
      s[2] = x2;
      return;
    }
    for (let n = 0; n < this.width; n++) if ((s[n] as number) > (cells[at + n] as number)) cells[at + n] = s[n] as number;
  }
}

/** A counter state (index, prev, cur) as seen from window `index` (>= its own). */
function align(state: Float64Array, index: number): void {
  const own = state[0] as number;
  if (own === index) return;
  state[1] = own === index - 1 ? (state[2] as number) : 0;
  state[2] = 0;
  state[0] = index;
}

/** @internal For tests: the two cells a key maps to in a sketch of `cols` columns. */
export function cellsOf(key: string, cols: number): [number, number] {
  const h = hashOf(key);
  return [h & (cols - 1), secondIndex(h) & (cols - 1)];
}
