/**
 * Which offsets of one partition have a durable outcome (stored, or acknowledged by the
 * dead-letter topic), and therefore how far the group may commit. Outcomes complete in any
 * order — the DLQ may answer before the database — but the commit point only ever advances
 * over a gap-free prefix of finished offsets, so a commit never passes unfinished work.
 *
 * Offsets are bigints: Kafka offsets are 64-bit. Tracked offsets must increase but may have
 * gaps (compaction, transaction markers).
 */
export class OffsetTracker {
  /** Tracked offsets in increasing order; `#head` indexes the oldest not yet committed past. */
  readonly #offsets: Array<bigint> = []
  readonly #done = new Set<bigint>()
  #head = 0

  /** Starts tracking `offset`; it must be greater than every offset tracked before. */
  track(offset: bigint): void {
    const last = this.#offsets.at(-1)
    if (last !== undefined && offset <= last) {
      throw new RangeError(`offset ${offset} tracked after ${last}`)
    }
    this.#offsets.push(offset)
  }

  /** Records that `offset` has a durable outcome. Completing twice is harmless. */
  complete(offset: bigint): void {
    if (!this.isTracked(offset)) throw new RangeError(`offset ${offset} is not tracked`)
    this.#done.add(offset)
    while (this.#head < this.#offsets.length && this.#done.has(this.#offsets[this.#head]!)) {
      this.#head++
    }
  }

  isTracked(offset: bigint): boolean {
    return binarySearch(this.#offsets, offset) >= 0
  }

  /** The oldest tracked offset without a durable outcome: where a redelivery must start. */
  firstUnfinished(): bigint | undefined {
    return this.#offsets[this.#head]
  }

  /**
   * The offset to commit (Kafka commits "the next offset to read"): every tracked offset below
   * it is finished. `undefined` until the first tracked offset finishes.
   */
  commitPoint(): bigint | undefined {
    if (this.#head === 0) return undefined
    const unfinished = this.#offsets[this.#head]
    return unfinished ?? this.#offsets[this.#head - 1]! + 1n
  }

  /** True when every tracked offset has finished. */
  isDrained(): boolean {
    return this.#head === this.#offsets.length
  }
}

function binarySearch(sorted: ReadonlyArray<bigint>, target: bigint): number {
  let low = 0
  let high = sorted.length - 1
  while (low <= high) {
    const mid = (low + high) >> 1
    const value = sorted[mid]!
    if (value === target) return mid
    if (value < target) low = mid + 1
    else high = mid - 1
  }
  return -1
}
