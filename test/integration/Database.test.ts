import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { PgClient } from "@effect/sql-pg"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql/SqlClient"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { Database, pgClientLayer } from "../../src/db/Database.ts"
import { OrderNotFound } from "../../src/domain/errors.ts"
import type { Order } from "../../src/domain/Order.ts"
import { loadConfig } from "../support/config.ts"
import { sampleOrders, storableOrder } from "../support/orders.ts"
import { eventually } from "../support/kafka.ts"
import { makeTcpProxy } from "../support/TcpProxy.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const parse = (json: string) => JSON.parse(json) as Order

const countRows = Effect.gen(function* () {
  const sql = yield* SqlClient
  const [row] = yield* sql<{ orders: number; items: number }>`
    SELECT (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM items) AS items`
  return row!
})

describe("Database (real PostgreSQL)", () => {
  it.layer(TestDatabase.layer())((it) => {
    it.effect("stores a batch and reads every order back as ingested", () =>
      Effect.gen(function* () {
        const db = yield* Database
        const orders = yield* sampleOrders(50, 11)
        const outcomes = yield* db.insertOrders(orders)
        assert.deepStrictEqual(
          outcomes.map((o) => o._tag),
          orders.map(() => "Inserted")
        )
        for (const order of orders) {
          assert.deepStrictEqual(parse(yield* db.findOrder(order.order_uid)), order)
        }
      })
    )

    it.effect.prop(
      "any storable order reads back equal to the original",
      [storableOrder],
      ([order]) =>
        Effect.gen(function* () {
          const db = yield* Database
          const unique = { ...order, order_uid: `p${crypto.randomUUID().replaceAll("-", "")}` }
          const [outcome] = yield* db.insertOrders([unique])
          assert.strictEqual(outcome?._tag, "Inserted")
          assert.deepStrictEqual(parse(yield* db.findOrder(unique.order_uid)), unique)
        }),
      { timeout: 60_000, arbitrary: { runs: 60 } }
    )

    it.effect("an identical redelivery is a success and stores nothing new", () =>
      Effect.gen(function* () {
        const db = yield* Database
        const orders = yield* sampleOrders(5, 12)
        yield* db.insertOrders(orders)
        const before = yield* countRows
        // Redelivered alone, and again within one batch together with its own copy.
        const again = yield* db.insertOrders([...orders, orders[0]!])
        assert.deepStrictEqual(
          again.map((o) => o._tag),
          [...orders.map(() => "AlreadyStored"), "AlreadyStored"]
        )
        assert.deepStrictEqual(yield* countRows, before)
      })
    )

    it.effect("the same uid with other content is a conflict, and the stored order stays", () =>
      Effect.gen(function* () {
        const db = yield* Database
        const [original] = yield* sampleOrders(1, 13)
        yield* db.insertOrders([original!])
        const changed = { ...original!, entry: `${original!.entry}-changed` }
        const [outcome] = yield* db.insertOrders([changed])
        assert.strictEqual(outcome?._tag, "Rejected")
        if (outcome?._tag !== "Rejected") return
        assert.strictEqual(outcome.error._tag, "OrderAlreadyExists")
        assert.deepStrictEqual(parse(yield* db.findOrder(original!.order_uid)), original)
      })
    )

    it.effect("one batch holding an order, its conflicting copy and its redelivery", () =>
      Effect.gen(function* () {
        const db = yield* Database
        const [original, other] = yield* sampleOrders(2, 17)
        const conflicting = { ...original!, entry: `${original!.entry}-other` }
        const outcomes = yield* db.insertOrders([original!, conflicting, original!, other!])
        assert.deepStrictEqual(
          outcomes.map((o) => (o._tag === "Rejected" ? o.error._tag : o._tag)),
          ["Inserted", "OrderAlreadyExists", "AlreadyStored", "Inserted"]
        )
        // The child rows belong to the copy that won, not to the conflicting one.
        assert.deepStrictEqual(parse(yield* db.findOrder(original!.order_uid)), original)
        // Whichever copy comes first wins; the other is the conflict.
        const [first, second] = yield* db.insertOrders([conflicting, original!])
        assert.strictEqual(first?._tag, "Rejected")
        assert.strictEqual(second?._tag, "AlreadyStored")
      })
    )

    it.effect("a batch holding one order the database refuses stores all the others", () =>
      Effect.gen(function* () {
        const db = yield* Database
        const orders = yield* sampleOrders(9, 14)
        // NUL passes the schema (it is valid JSON text) but PostgreSQL text cannot hold it.
        const bad = { ...orders[4]!, entry: "bad\u0000entry" }
        const batch = [...orders.slice(0, 4), bad, ...orders.slice(5)]
        const outcomes = yield* db.insertOrders(batch)
        outcomes.forEach((outcome, i) => {
          if (i === 4) {
            assert.strictEqual(outcome._tag, "Rejected")
            if (outcome._tag === "Rejected") {
              assert.strictEqual(outcome.error._tag, "InvalidOrder")
              assert.match(outcome.error.message, /rejected by the database/)
            }
          } else {
            assert.strictEqual(outcome._tag, "Inserted")
          }
        })
        const missing = yield* Effect.flip(db.findOrder(bad.order_uid))
        assert.strictEqual(missing._tag, "OrderNotFound")
        for (const order of batch.filter((_, i) => i !== 4)) {
          assert.deepStrictEqual(parse(yield* db.findOrder(order.order_uid)), order)
        }
      })
    )

    it.effect("an unknown uid is OrderNotFound", () =>
      Effect.gen(function* () {
        const db = yield* Database
        const error = yield* Effect.flip(db.findOrder("nosuchorder"))
        assert.deepStrictEqual(error, new OrderNotFound({ orderUid: "nosuchorder" }))
      })
    )

    it.effect("latestOrders returns the newest first, bounded by the limit", () =>
      Effect.gen(function* () {
        const db = yield* Database
        const orders = yield* sampleOrders(3, 15)
        for (const order of orders) yield* db.insertOrders([order])
        const latest = yield* db.latestOrders(2)
        assert.deepStrictEqual(
          latest.map((entry) => entry.orderUid),
          [orders[2]!.order_uid, orders[1]!.order_uid]
        )
        assert.deepStrictEqual(parse(latest[0]!.json), orders[2])
      })
    )
  })

  describe("when the server cannot be reached", () => {
    const unreachable = Database.layerNoDeps.pipe(
      Layer.provide(pgClientLayer()),
      Layer.provideMerge(
        Layer.succeed(
          AppConfig,
          AppConfig.of(
            loadConfig({
              // Nothing listens on port 1; the refusal is immediate.
              DATABASE_URL: "postgres://postgres@127.0.0.1:1/orders",
              DB_PING_TIMEOUT: "500 millis"
            })
          )
        )
      )
    )

    it.layer(unreachable)((it) => {
      it.effect("every operation fails with DatabaseUnavailable", () =>
        Effect.gen(function* () {
          const db = yield* Database
          const [order] = yield* sampleOrders(1, 16)
          const errors = [
            yield* Effect.flip(db.ping),
            yield* Effect.flip(db.findOrder("abc")),
            yield* Effect.flip(db.insertOrders([order!])),
            yield* Effect.flip(db.latestOrders(10))
          ]
          for (const error of errors) assert.strictEqual(error._tag, "DatabaseUnavailable")
        })
      )
    })
  })
})

describe("Database when the server shuts our connections down", () => {
  {
    it.live(
      "a session the server terminates, as on restart, is DatabaseUnavailable, not bad data",
      () =>
        Effect.gen(function* () {
          const db = yield* Database
          const { database } = yield* AppConfig
          const [order] = yield* sampleOrders(1, 18)
          // A second session, not ours: it holds a lock that makes our insert wait, then ends
          // our sessions the way a server restart does. The driver sees the connection close;
          // the SQLSTATEs a shutdown can also send (57P01-57P03) are covered by sqlErrors.test.
          const locker = yield* PgClient.make({
            url: database.url,
            applicationName: "test-locker",
            maxConnections: 1
          })
          const insert = yield* locker.withTransaction(
            Effect.gen(function* () {
              yield* locker`LOCK TABLE orders IN ACCESS EXCLUSIVE MODE`
              const insert = yield* Effect.forkScoped(Effect.flip(db.insertOrders([order!])))
              yield* eventually(
                "our insert waits for the lock",
                locker<{ n: number }>`
                SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE application_name = 'order-service' AND wait_event_type = 'Lock'`.pipe(
                  Effect.map(([row]) => row!.n > 0),
                  Effect.orDie
                ),
                10_000
              )
              yield* locker`
              SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE application_name = 'order-service'`
              return insert
            })
          )
          const error = yield* Fiber.join(insert)
          assert.strictEqual(error._tag, "DatabaseUnavailable")
          // The pool opens new sessions: the store works again.
          const [outcome] = yield* db.insertOrders([order!])
          assert.strictEqual(outcome?._tag, "Inserted")
        }).pipe(Effect.provide([TestDatabase.layer(), Reactivity.layer]), Effect.scoped)
    )
  }
})

describe("Database behind a server that stops answering", () => {
  it.live("a hung statement is DatabaseUnavailable once the statement timeout passes", () =>
    Effect.gen(function* () {
      const proxy = yield* makeTcpProxy({ host: "127.0.0.1", port: 5432 })
      yield* Effect.gen(function* () {
        const db = yield* Database
        yield* db.ping
        yield* proxy.hang
        const started = Date.now()
        const error = yield* Effect.flip(db.findOrder("abc"))
        assert.strictEqual(error._tag, "DatabaseUnavailable")
        assert.isAtLeast(Date.now() - started, 900)
        // Let the pool's stuck sessions close quickly on release.
        yield* proxy.cut
      }).pipe(
        Effect.provide(
          TestDatabase.layer(
            { DB_STATEMENT_TIMEOUT: "1 second" },
            `postgres://postgres@127.0.0.1:${proxy.port}`
          )
        ),
        Effect.scoped
      )
    }).pipe(Effect.scoped)
  )
})

describe("Database health check", () => {
  it.live("pings on a connection of its own, so a busy pool does not look like an outage", () =>
    Effect.gen(function* () {
      const db = yield* Database
      const sql = yield* SqlClient
      yield* db.ping
      // The pool's only connection is busy for two seconds...
      const busy = yield* Effect.forkScoped(sql`SELECT pg_sleep(2)`)
      yield* eventually(
        "the pool's connection to be taken",
        Effect.map(
          sql`SELECT 1`.pipe(Effect.timeoutOption("100 millis")),
          (answer) => answer._tag === "None"
        ),
        5_000,
        50
      )
      // ...yet the health check answers at once.
      const started = Date.now()
      yield* db.ping
      assert.isBelow(Date.now() - started, 1_000)
      yield* Fiber.join(busy)
    }).pipe(Effect.provide(TestDatabase.layer({ DB_POOL_MAX: "1" })), Effect.scoped)
  )
})
