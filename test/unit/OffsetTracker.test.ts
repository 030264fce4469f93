import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { OffsetTracker } from "../../src/consumer/OffsetTracker.ts"

/** A partition's offsets (increasing, with gaps) and an arbitrary order of completion. */
const scenario = Arbitrary.flatMap(
  Arbitrary.array(
    Arbitrary.schema(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 3 }))),
    {
      minLength: 1,
      maxLength: 60
    }
  ),
  (gaps) => {
    let offset = 100n
    const offsets = gaps.map((gap) => (offset += BigInt(gap)))
    return Arbitrary.map(
      Arbitrary.array(
        Arbitrary.schema(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
        {
          minLength: offsets.length,
          maxLength: offsets.length
        }
      ),
      (keys) => ({
        offsets,
        completionOrder: offsets
          .map((o, i) => [o, keys[i]!] as const)
          .sort((a, b) => a[1] - b[1])
          .map(([o]) => o)
      })
    )
  }
)

describe("OffsetTracker", () => {
  it.prop(
    "for any order of completions, the commit point never passes an unfinished offset",
    [scenario],
    ([{ offsets, completionOrder }]) => {
      const tracker = new OffsetTracker()
      offsets.forEach((o) => tracker.track(o))
      const finished = new Set<bigint>()
      let previous: bigint | undefined
      for (const offset of completionOrder) {
        tracker.complete(offset)
        finished.add(offset)
        const point = tracker.commitPoint()
        // The reference model: the longest finished prefix of the tracked offsets.
        const prefix = offsets.findIndex((o) => !finished.has(o))
        const expected =
          prefix === 0 ? undefined : prefix === -1 ? offsets.at(-1)! + 1n : offsets[prefix]!
        assert.strictEqual(point, expected)
        if (point !== undefined) {
          for (const o of offsets) if (o < point) assert.isTrue(finished.has(o))
          if (previous !== undefined) assert.isTrue(point >= previous, "commit point went back")
          previous = point
        }
        assert.strictEqual(tracker.firstUnfinished(), prefix === -1 ? undefined : offsets[prefix])
      }
      assert.isTrue(tracker.isDrained())
      assert.strictEqual(tracker.commitPoint(), offsets.at(-1)! + 1n)
    }
  )

  it("has nothing to commit until the oldest offset finishes", () => {
    const tracker = new OffsetTracker()
    ;[5n, 6n, 9n].forEach((o) => tracker.track(o))
    tracker.complete(9n)
    tracker.complete(6n)
    assert.strictEqual(tracker.commitPoint(), undefined)
    assert.strictEqual(tracker.firstUnfinished(), 5n)
    tracker.complete(5n)
    assert.strictEqual(tracker.commitPoint(), 10n)
  })

  it("refuses offsets out of order and completions of untracked offsets", () => {
    const tracker = new OffsetTracker()
    tracker.track(3n)
    assert.throws(() => tracker.track(3n), RangeError)
    assert.throws(() => tracker.track(2n), RangeError)
    assert.throws(() => tracker.complete(4n), RangeError)
  })
})
