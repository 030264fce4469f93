/**
 * The order cache: the LRU against a plain `Map` (what recency bookkeeping costs), the
 * `Cache` service's Effect-wrapped read against the bare LRU (what metrics and the Effect
 * runtime cost), and `GET /orders/:uid` answered from the cache against the same request
 * answered by PostgreSQL (what the cache buys). The HTTP rows need the test PostgreSQL.
 */
import * as http from "node:http"
import { Context, Effect, Exit, Layer, References, Scope } from "effect"
import { Cache } from "../src/cache/Cache.ts"
import { Lru } from "../src/cache/Lru.ts"
import { Database } from "../src/db/Database.ts"
import { sampleOrders } from "../test/support/orders.ts"
import { baseUrl, layer as httpLayer } from "../test/support/TestHttp.ts"
import { type BenchModule, type BenchRow, measureAsync, measureSync } from "./harness.ts"

const ENTRIES = 10_000
const KEYS = Array.from({ length: ENTRIES * 2 }, (_, i) => `order${i.toString(36)}`)
const VALUE = new Uint8Array(1024)
/** A fixed pseudo-random walk over the keys, so both sides read the same sequence. */
const WALK = Array.from({ length: 1 << 16 }, (_, i) => (i * 2_654_435_761) % ENTRIES)

const lruRows = (): ReadonlyArray<BenchRow> => {
  const lru = new Lru<string, Uint8Array>({
    maxEntries: ENTRIES,
    maxEntryBytes: 64 * 1024,
    sizeOf: (v) => v.byteLength
  })
  const map = new Map<string, Uint8Array>()
  for (const key of KEYS.slice(0, ENTRIES)) {
    lru.set(key, VALUE)
    map.set(key, VALUE)
  }
  const mask = WALK.length - 1
  const lruGet = measureSync((i) => lru.get(KEYS[WALK[i & mask]!]!))
  const mapGet = measureSync((i) => map.get(KEYS[WALK[i & mask]!]!))
  // Twice as many keys as entries: every LRU set past warm-up also evicts.
  const lruSet = measureSync((i) => lru.set(KEYS[i % KEYS.length]!, VALUE))
  const mapSet = measureSync((i) => map.set(KEYS[i % KEYS.length]!, VALUE))
  return [
    {
      name: "Lru.get (hit)",
      opsPerSecond: lruGet,
      baseline: "Map.get",
      baselineOpsPerSecond: mapGet
    },
    {
      name: "Lru.set (with eviction)",
      opsPerSecond: lruSet,
      baseline: "Map.set (unbounded)",
      baselineOpsPerSecond: mapSet
    }
  ]
}

/** Starts the HTTP side over a fresh test database; stops it with `scope`. */
const startServer = (scope: Scope.Scope, env: Record<string, string>) =>
  Effect.gen(function* () {
    const context = yield* Layer.buildWithScope(httpLayer(env), scope)
    const [order] = yield* sampleOrders(1, 7)
    yield* Context.get(context, Database).insertOrders([order!])
    const base = yield* Effect.provide(baseUrl, context)
    return { context, url: `${base}/orders/${order!.order_uid}` }
  })

const get = (agent: http.Agent, url: string) =>
  new Promise<void>((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        response.resume()
        response.on("end", () =>
          response.statusCode === 200
            ? resolve()
            : reject(new Error(`status ${response.statusCode}`))
        )
      })
      .on("error", reject)
  })

const serviceRows = async (): Promise<ReadonlyArray<BenchRow>> => {
  const scope = Effect.runSync(Scope.make())
  const quiet = Layer.succeed(References.MinimumLogLevel, "Warn")
  const run = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.runPromise(effect.pipe(Effect.provide(quiet)))
  try {
    // Node's client does not reuse a connection whose server hints keep-alive of 1 s (the
    // tests' setting), so the service default applies here.
    const keepAlive = { HTTP_KEEP_ALIVE_TIMEOUT: "5 seconds" }
    const hit = await run(startServer(scope, keepAlive))
    const miss = await run(startServer(scope, { ...keepAlive, CACHE_MAX_ENTRIES: "0" }))

    const cache = Context.get(hit.context, Cache)
    const lru = new Lru<string, Uint8Array>({
      maxEntries: 1,
      maxEntryBytes: 1 << 20,
      sizeOf: (v) => v.byteLength
    })
    lru.set("order", VALUE)
    const uid = new URL(hit.url).pathname.split("/").pop()!
    await run(cache.getOrLoad(uid))
    const loops = 200_000
    const cacheGet = await run(
      Effect.gen(function* () {
        const start = performance.now()
        for (let i = 0; i < loops; i++) yield* cache.get(uid)
        return (loops / (performance.now() - start)) * 1000
      })
    )
    const lruGet = measureSync(() => lru.get("order"))

    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
    // Untimed warm-up of both paths, so that the JIT has compiled them before either is timed.
    await measureAsync(() => get(agent, hit.url), { millis: 1500 })
    await measureAsync(() => get(agent, miss.url), { millis: 1500 })
    const hits = await measureAsync(() => get(agent, hit.url), { millis: 3000 })
    const misses = await measureAsync(() => get(agent, miss.url), { millis: 3000 })
    agent.destroy()
    return [
      {
        name: "Cache.get (Effect, metrics)",
        opsPerSecond: cacheGet,
        baseline: "Lru.get",
        baselineOpsPerSecond: lruGet
      },
      {
        name: "GET /orders/:uid, cache hit",
        opsPerSecond: hits,
        baseline: "same, cache off (PostgreSQL)",
        baselineOpsPerSecond: misses
      }
    ]
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void).pipe(Effect.provide(quiet)))
  }
}

const bench: BenchModule = {
  title: "Order cache",
  run: async () => {
    const rows = [...lruRows()]
    try {
      rows.push(...(await serviceRows()))
    } catch (error) {
      // The LRU rows stand on their own; say plainly why the service rows are missing.
      console.error(`cache bench: service rows skipped (is PostgreSQL up?): ${String(error)}`)
    }
    return rows
  }
}

export default bench
