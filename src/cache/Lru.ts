/**
 * A least-recently-used map with two caps: how many entries it holds, and how large one
 * entry may be. Pure and synchronous; the `Cache` service wraps it with metrics and loading.
 *
 * Entries live in slots of parallel arrays, chained from most to least recently used by slot
 * numbers, with a `Map` from key to slot: get, set and eviction are O(1). (Reordering a
 * `Map` by delete-and-reinsert looks O(1) too, but V8 then finds the oldest key by scanning
 * the holes deletions leave, and eviction slows down a hundredfold under churn.)
 */

export interface LruOptions<V> {
  /** Most entries held; 0 disables caching. */
  readonly maxEntries: number
  /** An entry whose size is above this is never held. */
  readonly maxEntryBytes: number
  readonly sizeOf: (value: V) => number
}

export interface LruStats {
  readonly entries: number
  /** Sum of the sizes of the entries held. */
  readonly bytes: number
  readonly evictions: number
}

/**
 * What `set` did: `Stored` (evicting the least recent entries to make room), `TooLarge` (the
 * value is above the per-entry cap) or `Disabled` (the entry cap is 0). Only `Stored` holds it.
 */
export type SetOutcome =
  | { readonly _tag: "Stored"; readonly evicted: number }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "Disabled" }

const NONE = -1

/** `V` excludes `undefined` so that `get` can use it to say "absent". */
export class Lru<K, V extends {}> {
  readonly maxEntries: number
  readonly maxEntryBytes: number
  readonly #sizeOf: (value: V) => number
  readonly #slotOf = new Map<K, number>()
  // Slot arrays grow on demand up to `maxEntries`, so a large cap costs nothing until used.
  readonly #keys: Array<K | undefined> = []
  readonly #values: Array<V | undefined> = []
  readonly #sizes: Array<number> = []
  readonly #newer: Array<number> = []
  readonly #older: Array<number> = []
  readonly #freeSlots: Array<number> = []
  #newest = NONE
  #oldest = NONE
  #bytes = 0
  #evictions = 0

  constructor(options: LruOptions<V>) {
    this.maxEntries = options.maxEntries
    this.maxEntryBytes = options.maxEntryBytes
    this.#sizeOf = options.sizeOf
  }

  /** The value under `key`, which becomes the most recently used; `undefined` when absent. */
  get(key: K): V | undefined {
    const slot = this.#slotOf.get(key)
    if (slot === undefined) return undefined
    if (slot !== this.#newest) {
      this.#unlink(slot)
      this.#linkNewest(slot)
    }
    return this.#values[slot]
  }

  /** Whether `key` is held, without touching its recency. */
  has(key: K): boolean {
    return this.#slotOf.has(key)
  }

  set(key: K, value: V): SetOutcome {
    const size = this.#sizeOf(value)
    const existing = this.#slotOf.get(key)
    // A replaced value must not linger, even when the new one is refused.
    if (existing !== undefined) this.#remove(existing)
    if (size > this.maxEntryBytes) return { _tag: "TooLarge" }
    if (this.maxEntries === 0) return { _tag: "Disabled" }
    let evicted = 0
    while (this.#slotOf.size >= this.maxEntries && this.#oldest !== NONE) {
      this.#remove(this.#oldest)
      evicted++
    }
    const slot = this.#freeSlots.pop() ?? this.#keys.length
    this.#keys[slot] = key
    this.#values[slot] = value
    this.#sizes[slot] = size
    this.#linkNewest(slot)
    this.#slotOf.set(key, slot)
    this.#bytes += size
    this.#evictions += evicted
    return { _tag: "Stored", evicted }
  }

  get size(): number {
    return this.#slotOf.size
  }

  stats(): LruStats {
    return { entries: this.#slotOf.size, bytes: this.#bytes, evictions: this.#evictions }
  }

  /** Keys from least to most recently used (for tests and diagnostics; O(n)). */
  keys(): ReadonlyArray<K> {
    const keys: Array<K> = []
    for (let slot = this.#oldest; slot !== NONE; slot = this.#newer[slot]!) {
      keys.push(this.#keys[slot]!)
    }
    return keys
  }

  #remove(slot: number): void {
    this.#unlink(slot)
    this.#slotOf.delete(this.#keys[slot]!)
    this.#bytes -= this.#sizes[slot]!
    // Drop the references so that evicted values can be collected.
    this.#keys[slot] = undefined
    this.#values[slot] = undefined
    this.#freeSlots.push(slot)
  }

  #unlink(slot: number): void {
    const newer = this.#newer[slot]!
    const older = this.#older[slot]!
    if (newer === NONE) this.#newest = older
    else this.#older[newer] = older
    if (older === NONE) this.#oldest = newer
    else this.#newer[older] = newer
  }

  #linkNewest(slot: number): void {
    this.#newer[slot] = NONE
    this.#older[slot] = this.#newest
    if (this.#newest === NONE) this.#oldest = slot
    else this.#newer[this.#newest] = slot
    this.#newest = slot
  }
}
