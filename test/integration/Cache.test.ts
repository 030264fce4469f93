import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { Cache } from "../../src/cache/Cache.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { Database, pgClientLayer } from "../../src/db/Database.ts"
import { loadConfig } from "../support/config.ts"
import { sampleOrders } from "../support/orders.ts"
import * as TestDatabase from "../support/TestDatabase.ts"
import { DbProbe, probedDatabase } from "../support/TestHttp.ts"

const env = { CACHE_WARM_ENTRIES: "3", CACHE_MAX_ENTRIES: "10" }

/** A cache of its own for one test, released with the test's scope. */
const buildCache = Effect.map(Layer.build(Layer.fresh(Cache.layer)), (context) =>
  Context.get(context, Cache)
)

describe("Cache (real PostgreSQL)", () => {
  it.layer(probedDatabase.pipe(Layer.provideMerge(TestDatabase.layer(env))), {
    excludeTestServices: true
  })((it) => {
    it.effect("warm-up loads the most recently stored orders, so they need no query", () =>
      Effect.gen(function* () {
        const db = yield* Database
        const orders = yield* sampleOrders(5, 401)
        for (const order of orders) yield* db.insertOrders([order])

        // Built only now, after the orders are stored.
        const cache = yield* buildCache
        yield* cache.warmedUp
        assert.strictEqual((yield* cache.stats).entries, 3)

        const probe = yield* DbProbe
        const before = yield* probe.findOrderCalls
        for (const order of orders.slice(2)) {
          const json = yield* cache.getOrLoad(order.order_uid)
          assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(json)), order)
        }
        assert.strictEqual(yield* probe.findOrderCalls, before, "the newest three were cached")
        assert.isTrue(Option.isNone(yield* cache.get(orders[0]!.order_uid)))
      })
    )

    it.effect("a lookup that fails is not cached: a later one asks the database again", () =>
      Effect.gen(function* () {
        const cache = yield* buildCache
        const probe = yield* DbProbe
        const before = yield* probe.findOrderCalls
        const first = yield* Effect.flip(cache.getOrLoad("notYetStored1"))
        assert.strictEqual(first._tag, "OrderNotFound")
        const [order] = yield* sampleOrders(1, 402)
        const arrived = { ...order!, order_uid: "notYetStored1" }
        yield* Effect.flatMap(Database, (db) => db.insertOrders([arrived]))
        const json = yield* cache.getOrLoad("notYetStored1")
        assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(json)), arrived)
        assert.strictEqual((yield* probe.findOrderCalls) - before, 2)
      })
    )
  })

  describe("when the database is down at start", () => {
    const unreachable = Database.layerNoDeps.pipe(
      Layer.provide(pgClientLayer()),
      Layer.provideMerge(
        AppConfig.layerFrom(
          loadConfig({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/orders", ...env })
        )
      )
    )

    it.layer(unreachable, { excludeTestServices: true })((it) => {
      it.effect("start-up does not wait for the warm-up, and lookups fail as unavailable", () =>
        Effect.gen(function* () {
          const [took, cache] = yield* Effect.timed(buildCache)
          assert.isBelow(Duration.toMillis(took), 1000)
          const error = yield* Effect.flip(cache.getOrLoad("anyuid1"))
          assert.strictEqual(error._tag, "DatabaseUnavailable")
          assert.strictEqual((yield* cache.stats).entries, 0)
        })
      )
    })
  })
})
