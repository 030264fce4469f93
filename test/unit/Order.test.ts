import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { encodeOrderJson, makeOrderDecoder } from "../../src/domain/decode.ts"
import {
  invalidKinds,
  invalidOrderJson,
  makeRandom,
  realisticOrder
} from "../../src/producer/generate.ts"
import { anyOrder, referenceOrder } from "../support/orders.ts"

const decoder = makeOrderDecoder(1000)

/** For each rule of the schema, a path into the order and a value that breaks that rule. */
const breakers: ReadonlyArray<readonly [path: ReadonlyArray<string | number>, bad: unknown]> = [
  [["order_uid"], ""],
  [["order_uid"], "a".repeat(65)],
  [["order_uid"], "abc-123"],
  [["track_number"], "WB TRACK"],
  [["entry"], ""],
  [["locale"], "english"],
  [["locale"], "en_US"],
  [["internal_signature"], 42],
  [["customer_id"], ""],
  [["delivery_service"], null],
  [["shardkey"], "9a"],
  [["sm_id"], 0],
  [["sm_id"], 1.5],
  [["date_created"], "2021-11-26 06:22"],
  [["date_created"], "2021-02-30T06:22:19Z"],
  [["oof_shard"], ""],
  [["delivery", "name"], ""],
  [["delivery", "phone"], "+0123456"],
  [["delivery", "phone"], "89991234567"],
  [["delivery", "zip"], "26-398"],
  [["delivery", "city"], ""],
  [["delivery", "address"], ""],
  [["delivery", "region"], ""],
  [["delivery", "email"], "test.gmail.com"],
  [["payment", "transaction"], "tx-1"],
  [["payment", "request_id"], 7],
  [["payment", "currency"], "usd"],
  [["payment", "currency"], "XYZ"],
  [["payment", "provider"], ""],
  [["payment", "amount"], -1],
  [["payment", "amount"], 2_147_483_648],
  [["payment", "payment_dt"], 0],
  [["payment", "bank"], ""],
  [["payment", "delivery_cost"], 1.25],
  [["payment", "goods_total"], "317"],
  [["payment", "custom_fee"], -5],
  [["items"], []],
  [["items", 0, "chrt_id"], 0],
  [["items", 0, "track_number"], ""],
  [["items", 0, "price"], -1],
  [["items", 0, "rid"], "ab_c"],
  [["items", 0, "name"], ""],
  [["items", 0, "sale"], 101],
  [["items", 0, "size"], ""],
  [["items", 0, "total_price"], 2_147_483_648],
  [["items", 0, "nm_id"], -3],
  [["items", 0, "brand"], ""],
  [["items", 0, "status"], 2.5]
]

const setPath = (value: unknown, path: ReadonlyArray<string | number>, bad: unknown): unknown => {
  const [head, ...rest] = path
  if (head === undefined) return bad
  if (Array.isArray(value)) {
    return value.map((element, i) => (i === head ? setPath(element, rest, bad) : element))
  }
  const record = value as Record<string, unknown>
  return { ...record, [head]: setPath(record[head], rest, bad) }
}

const jsonPath = (path: ReadonlyArray<string | number>) =>
  path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : `${acc}.${k}`), "$")

describe("Order schema", () => {
  it.effect.prop("a valid order survives encode then decode unchanged", [anyOrder], ([order]) =>
    Effect.gen(function* () {
      const decoded = yield* decoder.fromText(encodeOrderJson(order))
      assert.deepStrictEqual(decoded, order)
    })
  )

  it.effect.prop(
    "breaking any single rule is rejected with that field's path",
    [anyOrder, Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: breakers.length - 1 }))],
    ([order, index]) =>
      Effect.gen(function* () {
        const [path, bad] = breakers[index]!
        const error = yield* Effect.flip(decoder.fromJson(setPath(order, path, bad)))
        assert.strictEqual(error._tag, "InvalidOrder")
        assert.strictEqual(error.path, jsonPath(path))
      })
  )

  it.effect.prop("an unknown field at any depth is rejected", [anyOrder], ([order]) =>
    Effect.gen(function* () {
      for (const [path, expected] of [
        [["extra"], "$.extra"],
        [["delivery", "extra"], "$.delivery.extra"],
        [["payment", "extra"], "$.payment.extra"],
        [["items", 0, "extra"], "$.items[0].extra"]
      ] as const) {
        const error = yield* Effect.flip(decoder.fromJson(setPath(order, path, "surprise")))
        assert.strictEqual(error.path, expected)
        assert.match(error.reason, /excess property/i)
      }
    })
  )

  it.effect("every rule of the breaker table really is a rule", () =>
    // Guards the table itself: a breaker whose value were valid would make the property vacuous.
    Effect.gen(function* () {
      const [order] = yield* Effect.orDie(
        Effect.map(
          Effect.promise(async () => (await import("effect")).Arbitrary),
          (A) => A
        ).pipe(Effect.flatMap((A) => A.sampleEffect(anyOrder, { count: 1, seed: 7 })))
      )
      for (const [path, bad] of breakers) {
        const result = yield* Effect.result(decoder.fromJson(setPath(order, path, bad)))
        assert.strictEqual(result._tag, "Failure", `breaker ${jsonPath(path)}=${String(bad)}`)
      }
    })
  )

  it.effect("the demo generator's orders are valid, and each broken kind fails at its path", () =>
    Effect.gen(function* () {
      const random = makeRandom(5)
      for (let i = 0; i < 50; i++) yield* decoder.fromJson(realisticOrder(random, i))
      for (const [i, kind] of invalidKinds.entries()) {
        const broken = invalidOrderJson(random, i)
        assert.strictEqual(broken.kind, kind.kind)
        const error = yield* Effect.flip(decoder.fromText(broken.json))
        assert.strictEqual(error.path, kind.path, kind.kind)
      }
    })
  )

  it.effect("accepts the reference order of the Go service", () =>
    Effect.gen(function* () {
      const order = yield* decoder.fromJson(referenceOrder)
      assert.strictEqual(order.order_uid, "b563feb7b2b84b6test")
      assert.strictEqual(order.items.length, 1)
    })
  )

  it.effect("caps the item count at the configured maximum", () =>
    Effect.gen(function* () {
      const small = makeOrderDecoder(2)
      const items = [referenceOrder.items[0], referenceOrder.items[0], referenceOrder.items[0]]
      const error = yield* Effect.flip(small.fromJson({ ...referenceOrder, items }))
      assert.strictEqual(error.path, "$.items")
      yield* small.fromJson({ ...referenceOrder, items: items.slice(0, 2) })
    })
  )

  it.effect("turns any bytes into an order or an InvalidOrder, never a throw", () =>
    Effect.gen(function* () {
      const inputs: ReadonlyArray<Uint8Array | null> = [
        null,
        new Uint8Array(),
        new Uint8Array([0xc3, 0x28]),
        new TextEncoder().encode('{"order_uid":'),
        new TextEncoder().encode("[]"),
        new TextEncoder().encode("null"),
        new TextEncoder().encode('"text"'),
        new TextEncoder().encode('{"__proto__":{"x":1}}'),
        new TextEncoder().encode("9".repeat(400))
      ]
      for (const input of inputs) {
        const error = yield* Effect.flip(decoder.fromBytes(input))
        assert.strictEqual(error._tag, "InvalidOrder")
        assert.isAbove(error.reason.length, 0)
      }
    })
  )

  it.effect.prop("random bytes never crash the decoder", [Schema.Uint8Array], ([bytes]) =>
    Effect.gen(function* () {
      const result = yield* Effect.result(decoder.fromBytes(bytes))
      assert.oneOf(result._tag, ["Success", "Failure"])
    })
  )
})
