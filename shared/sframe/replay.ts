// Receive-side replay window for one KID. A CTR is accepted once, and only if
// it is at most WINDOW behind the highest CTR accepted so far, so frames may
// arrive out of order (audio and video of one sender share one counter).
//
// The bitmap is a ring of RING bits indexed by CTR mod RING; RING is larger
// than the window, so a bit is always cleared before its slot is reused.
// The hot path is a handful of bigint operations and one word access.
//
// Check before decrypting (cheap early drop), commit only after the tag
// verified: a forged frame must not be able to move the window.

export const REPLAY_WINDOW = 1024;
const RING = 2048;
const RING_MASK = BigInt(RING - 1);

export class ReplayWindow {
  private readonly bits = new Uint32Array(RING / 32);
  private top = -1n;
  private readonly window: bigint;

  constructor(window = REPLAY_WINDOW) {
    if (!Number.isInteger(window) || window < 0 || window >= RING) throw new RangeError(`replay window must be 0..${RING - 1}`);
    this.window = BigInt(window);
  }

  /** Highest CTR accepted so far, or undefined before the first. */
  get highest(): bigint | undefined {
    return this.top < 0n ? undefined : this.top;
  }

  /** Whether `ctr` would be accepted now; does not record it. */
  check(ctr: bigint): boolean {
    if (ctr > this.top) return true;
    if (this.top - ctr > this.window) return false;
    return !this.isSet(Number(ctr & RING_MASK));
  }

  /** Records `ctr`; false (and no change) if it is a replay or too old. */
  commit(ctr: bigint): boolean {
    if (!this.check(ctr)) return false;
    if (ctr > this.top) this.advance(ctr);
    const i = Number(ctr & RING_MASK);
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) | (1 << (i & 31));
    return true;
  }

  /** Moves the top to `ctr`, clearing the slots of the counters skipped over. */
  private advance(ctr: bigint): void {
    const gap = ctr - this.top;
    if (this.top < 0n || gap >= BigInt(RING)) {
      this.bits.fill(0);
    } else {
      let i = Number(this.top & RING_MASK);
      for (let n = Number(gap); n > 0; n--) {
        i = (i + 1) & (RING - 1);
        this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) & ~(1 << (i & 31));
      }
    }
    this.top = ctr;
  }

  private isSet(i: number): boolean {
    return ((this.bits[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }
}
