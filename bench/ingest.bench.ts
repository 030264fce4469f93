/**
 * The ingestion path: decoding against bare `JSON.parse` (what validation costs), and storing
 * orders in set-based batch transactions against one transaction per order (what batching
 * buys). The store rows need the test PostgreSQL; each run uses a database of its own.
 */
import { Effect } from "effect"
import { Database } from "../src/db/Database.ts"
import { makeOrderDecoder } from "../src/domain/decode.ts"
import { makeRandom, realisticOrder } from "../src/producer/generate.ts"
import * as TestDatabase from "../test/support/TestDatabase.ts"
import { type BenchModule, type BenchRow, measureSync } from "./harness.ts"

const random = makeRandom(1)
const orders = (count: number, offset: number) =>
  Array.from({ length: count }, (_, i) => realisticOrder(random, offset + i))

const decodeRows = (): ReadonlyArray<BenchRow> => {
  const decoder = makeOrderDecoder(1000)
  const messages = orders(1000, 0).map((order) => new TextEncoder().encode(JSON.stringify(order)))
  const utf8 = new TextDecoder()
  const decode = measureSync((i) =>
    Effect.runSync(Effect.result(decoder.fromBytes(messages[i % messages.length]!)))
  )
  const parse = measureSync((i) => JSON.parse(utf8.decode(messages[i % messages.length]!)))
  return [
    {
      name: "decode bytes -> Order (schema)",
      opsPerSecond: decode,
      baseline: "JSON.parse only",
      baselineOpsPerSecond: parse
    }
  ]
}

/** Orders stored per second by `store`, over `total` fresh orders. */
const storeRate = (
  total: number,
  offset: number,
  store: (
    db: Database["Service"],
    batch: ReturnType<typeof orders>
  ) => Effect.Effect<unknown, unknown>
) =>
  Effect.gen(function* () {
    const db = yield* Database
    const fresh = orders(total, offset)
    const started = performance.now()
    yield* store(db, fresh)
    return (total / (performance.now() - started)) * 1000
  })

const storeRows = Effect.gen(function* () {
  const batched = yield* storeRate(5000, 100_000, (db, all) =>
    Effect.forEach(
      Array.from({ length: all.length / 500 }, (_, i) => all.slice(i * 500, i * 500 + 500)),
      (chunk) => db.insertOrders(chunk),
      { discard: true }
    )
  )
  const single = yield* storeRate(1000, 200_000, (db, all) =>
    Effect.forEach(all, (order) => db.insertOrders([order]), { discard: true })
  )
  const redelivered = yield* storeRate(5000, 100_000, (db, all) =>
    // The same orders again: every one is recognized as already stored.
    Effect.forEach(
      Array.from({ length: all.length / 500 }, (_, i) => all.slice(i * 500, i * 500 + 500)),
      (chunk) => db.insertOrders(chunk),
      { discard: true }
    )
  )
  return [
    {
      name: "insertOrders, 500 per transaction",
      opsPerSecond: batched,
      baseline: "1 order per transaction",
      baselineOpsPerSecond: single
    },
    {
      name: "redelivery of stored orders, 500/tx",
      opsPerSecond: redelivered,
      baseline: "first delivery, 500/tx",
      baselineOpsPerSecond: batched
    }
  ] satisfies ReadonlyArray<BenchRow>
}).pipe(Effect.provide(TestDatabase.layer()), Effect.scoped)

const ingest: BenchModule = {
  title: "Ingestion: decoding and storing orders",
  run: async () => [...decodeRows(), ...(await Effect.runPromise(storeRows))]
}

export default ingest
