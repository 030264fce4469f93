/**
 * The HTTP server of order-service over a real, fresh PostgreSQL database, with two handles
 * for tests: the database's health set by hand, and a probe that counts (and can hold back)
 * the order lookups that reach the database.
 */
import * as http from "node:http"
import { Context, Duration, Effect, Latch, Layer } from "effect"
import { HttpServer } from "effect/http"
import { Cache } from "../../src/cache/Cache.ts"
import { Database } from "../../src/db/Database.ts"
import { type DbHealth, HealthRef } from "../../src/health/HealthRef.ts"
import * as Http from "../../src/http/Http.ts"
import { Readiness } from "../../src/http/Readiness.ts"
import { MetricsExporter } from "../../src/metrics/MetricsExporter.ts"
import * as TestDatabase from "./TestDatabase.ts"

/** Sets what `HealthRef` reports; no pinger runs. */
export class HealthSwitch extends Context.Service<
  HealthSwitch,
  { readonly set: (health: DbHealth) => Effect.Effect<void> }
>()("test/HealthSwitch") {}

export const down = (reason = "switched off by the test"): DbHealth => ({
  _tag: "Down",
  reason,
  since: new Date()
})
export const up: DbHealth = { _tag: "Up" }

export const manualHealth = Layer.effectContext(
  Effect.gen(function* () {
    const manual = yield* HealthRef.makeManual()
    return Context.make(HealthRef, manual.service).pipe(
      Context.add(HealthSwitch, { set: manual.set })
    )
  })
)

/** Counts `findOrder` calls that reach the real database; closing `gate` holds them back. */
export class DbProbe extends Context.Service<
  DbProbe,
  { readonly findOrderCalls: Effect.Effect<number>; readonly gate: Latch.Latch }
>()("test/DbProbe") {}

/** Wraps whatever `Database` is below it; every other operation passes straight through. */
export const probedDatabase = Layer.effectContext(
  Effect.gen(function* () {
    const real = yield* Database
    const gate = yield* Latch.make(true)
    let calls = 0
    const findOrder = (orderUid: string) =>
      Effect.suspend(() => {
        calls++
        return gate.whenOpen(real.findOrder(orderUid))
      })
    return Context.make(Database, Database.of({ ...real, findOrder })).pipe(
      Context.add(DbProbe, { findOrderCalls: Effect.sync(() => calls), gate })
    )
  })
)

/** Short limits, so that timeout tests finish quickly; no warm-up unless a test asks. */
export const httpTestEnv: Record<string, string> = {
  HTTP_PORT: "0",
  HTTP_REQUEST_TIMEOUT: "2 seconds",
  HTTP_HEADERS_TIMEOUT: "1 second",
  HTTP_KEEP_ALIVE_TIMEOUT: "1 second",
  HTTP_SHUTDOWN_TIMEOUT: "5 seconds",
  HTTP_MAX_BODY_BYTES: "1024",
  HTTP_MAX_HEADER_BYTES: "8192",
  DB_PING_INTERVAL: "2 seconds",
  CACHE_WARM_ENTRIES: "0"
}

/** The services the HTTP layer needs, over `database` (which must provide AppConfig too). */
export const servicesOver = <ROut, E, R>(database: Layer.Layer<ROut, E, R>) =>
  Layer.mergeAll(Cache.layer, Readiness.layer, MetricsExporter.layer).pipe(
    Layer.provideMerge(Layer.mergeAll(manualHealth, probedDatabase)),
    Layer.provideMerge(database)
  )

/** The whole HTTP side over a fresh migrated database. */
export const layer = (env: Record<string, string> = {}) =>
  Http.layer.pipe(
    Layer.provideMerge(servicesOver(TestDatabase.layer({ ...httpTestEnv, ...env }))),
    Layer.orDie
  )

/** `http://127.0.0.1:<port>` of the running server. */
export const baseUrl = Effect.gen(function* () {
  const server = yield* HttpServer.HttpServer
  if (server.address._tag === "UnixPathAddress") return yield* Effect.die("not a TCP server")
  return `http://127.0.0.1:${server.address.port}`
})

/** `fetch` as an Effect; a network failure is a defect (the test fails with it). */
export const request = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const body = await response.text()
    return { status: response.status, headers: response.headers, body }
  })

/**
 * A GET that sends `path` byte for byte. `fetch` resolves `.`, `..`, `%2E` and `%2E%2E`
 * segments before sending, so it cannot show what the server does with them.
 */
export const requestExact = (base: string, path: string) =>
  Effect.callback<{ readonly status: number; readonly body: string }>((resume) => {
    const request = http.get(`${base}${path}`, { path }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (body += chunk))
      response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, body })))
    })
    request.on("error", (error) => resume(Effect.die(error)))
    return Effect.sync(() => request.destroy())
  })

/** Polls `condition` until it holds; fails the test after `timeout` (real time). */
export const waitFor = (
  what: string,
  condition: Effect.Effect<boolean>,
  timeout: Duration.Input = "10 seconds"
) =>
  Effect.gen(function* () {
    while (!(yield* condition)) yield* Effect.sleep("10 millis")
  }).pipe(
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () => Effect.die(new Error(`timed out waiting for: ${what}`))
    })
  )
