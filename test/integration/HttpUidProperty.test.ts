import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Effect, Layer, Schema } from "effect"
import { Database } from "../../src/db/Database.ts"
import { OrderUid } from "../../src/domain/Order.ts"
import { sampleOrders } from "../support/orders.ts"
import { baseUrl, layer as httpLayer, request, requestExact } from "../support/TestHttp.ts"

const STORED_UID = "propertyStored1"

/** Pieces that tend to break URL handling: escapes (good, bad, encoded slashes), controls. */
const fragments = [
  "a",
  "Z",
  "7",
  "%2F",
  "%2f",
  "/",
  "%",
  "%25",
  "%00",
  "%E0%A4%A",
  "%C3%A9",
  "%FF",
  "é",
  "ж",
  "😀",
  "\u0000",
  "\u0001",
  "\u007f",
  "\n",
  "\r\n",
  "\t",
  " ",
  ".",
  "..",
  "?",
  "#",
  "&",
  ";",
  "\\",
  "+",
  "\u202e",
  "\ufeff",
  "\ud800",
  "<script>",
  '"'
] as const

const Fragment = Schema.Literals(fragments)
const Int = (minimum: number, maximum: number) =>
  Schema.Int.check(Schema.isBetween({ minimum, maximum }))

/** Strings of every kind: free text, fragment soup, very long runs, valid uids, a stored uid. */
const candidate = Arbitrary.map(
  Arbitrary.schema(
    Schema.Union([
      Schema.Struct({ kind: Schema.Literal("text"), text: Schema.String }),
      Schema.Struct({
        kind: Schema.Literal("soup"),
        parts: Schema.Array(Fragment).check(Schema.isMaxLength(40))
      }),
      // Long, yet short enough that even encoded the request line stays under the header cap
      // (8 KiB in these tests); above it Node answers 431, which the Http tests cover.
      Schema.Struct({ kind: Schema.Literal("long"), part: Fragment, times: Int(60, 400) }),
      Schema.Struct({ kind: Schema.Literal("uid"), uid: OrderUid }),
      Schema.Struct({ kind: Schema.Literal("stored") })
    ])
  ),
  (input): string => {
    switch (input.kind) {
      case "text":
        return input.text
      case "soup":
        return input.parts.join("")
      case "long":
        return input.part.repeat(input.times)
      case "uid":
        return input.uid
      case "stored":
        return STORED_UID
    }
  }
)

const isUid = Schema.is(OrderUid)

/** What a correctly encoded uid must get: exactly what the schema and the store say. */
const expectedStatus = (uid: string) =>
  uid === "" ? 404 : !isUid(uid) ? 400 : uid === STORED_UID ? 200 : 404

const storedOrder = Layer.effectDiscard(
  Effect.gen(function* () {
    const db = yield* Database
    const [order] = yield* sampleOrders(1, 201)
    yield* db.insertOrders([{ ...order!, order_uid: STORED_UID }])
  })
)

describe("GET /orders/:uid with arbitrary strings (real PostgreSQL)", () => {
  const app = storedOrder.pipe(Layer.provideMerge(httpLayer()))

  it.layer(app, { excludeTestServices: true })((it) => {
    it.effect.prop(
      "answers only 200, 400 or 404, never 5xx, encoded or sent as is",
      [candidate],
      ([uid]) =>
        Effect.gen(function* () {
          const base = yield* baseUrl
          const path = `/orders/${encodeURIComponent(uid.toWellFormed())}`
          const encoded = yield* requestExact(base, path)
          assert.strictEqual(encoded.status, expectedStatus(uid.toWellFormed()), "encoded")

          // As is: the client's URL parser escapes what it must and keeps `%` sequences, so
          // malformed escapes and encoded slashes reach the server.
          const raw = yield* request(`${base}/orders/${uid}`)
          assert.include([200, 400, 404], raw.status, "as is")
        }),
      { timeout: 60_000, arbitrary: { runs: 150 } }
    )
  })
})
