import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Lru, type SetOutcome } from "../../src/cache/Lru.ts"

const bytes = (size: number, fill = 1) => new Uint8Array(size).fill(fill)

const makeLru = (maxEntries: number, maxEntryBytes: number) =>
  new Lru<string, Uint8Array>({ maxEntries, maxEntryBytes, sizeOf: (v) => v.byteLength })

/**
 * The reference model: an array from least to most recently used, updated in the most
 * obvious way. Slow (O(n) everywhere) and plainly right.
 */
class Model {
  entries: Array<{ key: string; value: Uint8Array }> = []
  readonly maxEntries: number
  readonly maxEntryBytes: number
  constructor(maxEntries: number, maxEntryBytes: number) {
    this.maxEntries = maxEntries
    this.maxEntryBytes = maxEntryBytes
  }
  get(key: string) {
    const found = this.entries.find((entry) => entry.key === key)
    if (found === undefined) return undefined
    this.entries = [...this.entries.filter((entry) => entry.key !== key), found]
    return found.value
  }
  set(key: string, value: Uint8Array): SetOutcome {
    this.entries = this.entries.filter((entry) => entry.key !== key)
    if (value.byteLength > this.maxEntryBytes) return { _tag: "TooLarge" }
    if (this.maxEntries === 0) return { _tag: "Disabled" }
    const evicted = Math.max(0, this.entries.length + 1 - this.maxEntries)
    this.entries = [...this.entries.slice(evicted), { key, value }]
    return { _tag: "Stored", evicted }
  }
}

const Key = Schema.Literals(["a", "b", "c", "d", "e", "f", "g"])
const Command = Schema.Union([
  Schema.Struct({ op: Schema.Literal("get"), key: Key }),
  Schema.Struct({
    op: Schema.Literal("set"),
    key: Key,
    size: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 24 }))
  })
])
const Scenario = Schema.Struct({
  maxEntries: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 5 })),
  maxEntryBytes: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20 })),
  commands: Schema.Array(Command).check(Schema.isMaxLength(60))
})

describe("Lru", () => {
  it.effect.prop(
    "agrees with a reference model on every answer, and both caps hold after every step",
    [Scenario],
    ([{ maxEntries, maxEntryBytes, commands }]) =>
      Effect.sync(() => {
        const lru = makeLru(maxEntries, maxEntryBytes)
        const model = new Model(maxEntries, maxEntryBytes)
        commands.forEach((command, step) => {
          if (command.op === "get") {
            assert.strictEqual(lru.get(command.key), model.get(command.key), `step ${step}`)
          } else {
            const value = bytes(command.size, step % 256)
            assert.deepStrictEqual(lru.set(command.key, value), model.set(command.key, value))
          }
          assert.isAtMost(lru.size, maxEntries)
          const held = lru.keys().map((key) => [key, lru.has(key)] as const)
          assert.deepStrictEqual(
            held.map(([key]) => key),
            model.entries.map((entry) => entry.key),
            `recency order after step ${step}`
          )
          assert.isTrue(
            held.every(([, has]) => has),
            "a key listed in recency order is not held"
          )
          // The byte cap, on the LRU's own figures: no entry above it means no total above this.
          assert.isAtMost(lru.stats().bytes, lru.size * maxEntryBytes)
          assert.strictEqual(
            lru.stats().bytes,
            model.entries.reduce((sum, entry) => sum + entry.value.byteLength, 0)
          )
        })
      }),
    { arbitrary: { runs: 300 } }
  )

  it("evicts the least recently used entry, where a get counts as a use", () => {
    const lru = makeLru(2, 10)
    lru.set("a", bytes(1))
    lru.set("b", bytes(1))
    assert.isDefined(lru.get("a"))
    assert.deepStrictEqual(lru.set("c", bytes(1)), { _tag: "Stored", evicted: 1 })
    assert.deepStrictEqual(lru.keys(), ["a", "c"])
    assert.strictEqual(lru.stats().evictions, 1)
  })

  it("never holds an entry above the byte cap, and evicts nothing for it", () => {
    const lru = makeLru(2, 10)
    lru.set("a", bytes(10))
    lru.set("b", bytes(3))
    assert.deepStrictEqual(lru.set("huge", bytes(11)), { _tag: "TooLarge" })
    assert.isUndefined(lru.get("huge"))
    assert.deepStrictEqual(lru.keys(), ["a", "b"])
  })

  it("drops the old value when a key is set again with one above the cap", () => {
    const lru = makeLru(2, 10)
    lru.set("a", bytes(5))
    assert.deepStrictEqual(lru.set("a", bytes(50)), { _tag: "TooLarge" })
    assert.isUndefined(lru.get("a"))
    assert.strictEqual(lru.stats().bytes, 0)
  })

  it("holds nothing when the entry cap is 0", () => {
    const lru = makeLru(0, 10)
    assert.deepStrictEqual(lru.set("a", bytes(1)), { _tag: "Disabled" })
    assert.strictEqual(lru.size, 0)
  })
})
