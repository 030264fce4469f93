import * as net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import { HttpServer } from "effect/http"
import { Cache } from "../../src/cache/Cache.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { Database, pgClientLayer } from "../../src/db/Database.ts"
import { Order } from "../../src/domain/Order.ts"
import { METRICS_CONTENT_TYPE } from "../../src/http/Api.ts"
import * as Http from "../../src/http/Http.ts"
import { Readiness } from "../../src/http/Readiness.ts"
import { loadConfig } from "../support/config.ts"
import { sampleOrders } from "../support/orders.ts"
import {
  baseUrl,
  DbProbe,
  down,
  HealthSwitch,
  httpTestEnv,
  layer as httpLayer,
  request,
  requestExact,
  servicesOver,
  up,
  waitFor
} from "../support/TestHttp.ts"

const json = (body: string) => JSON.parse(body) as Record<string, unknown>

/** Stores `count` fresh orders (distinct per seed) and returns them. */
const stored = (count: number, seed: number) =>
  Effect.gen(function* () {
    const db = yield* Database
    const orders = yield* sampleOrders(count, seed)
    const outcomes = yield* db.insertOrders(orders)
    assert.deepStrictEqual(
      outcomes.map((o) => o._tag),
      orders.map(() => "Inserted")
    )
    return orders
  })

const get = (path: string, init?: RequestInit) =>
  Effect.flatMap(baseUrl, (base) => request(`${base}${path}`, init))

/** Sends raw bytes on a fresh connection; resolves with what came back once it closes. */
const rawExchange = (port: number, bytes: string) =>
  Effect.callback<{ readonly reply: string; readonly millis: number }>((resume) => {
    const started = Date.now()
    let reply = ""
    const socket = net.connect(port, "127.0.0.1", () => socket.write(bytes))
    socket.setEncoding("utf8")
    socket.on("data", (chunk: string) => (reply += chunk))
    socket.on("error", () => undefined) // a reset after the reply is still a close
    socket.on("close", () => resume(Effect.succeed({ reply, millis: Date.now() - started })))
    return Effect.sync(() => socket.destroy())
  })

const serverPort = Effect.map(HttpServer.HttpServer, (server) =>
  server.address._tag === "UnixPathAddress" ? 0 : server.address.port
)

describe("HTTP API (real PostgreSQL)", () => {
  it.layer(httpLayer(), { excludeTestServices: true })((it) => {
    it.effect("GET /orders/:uid answers 200 with the order as ingested, then from the cache", () =>
      Effect.gen(function* () {
        const [order] = yield* stored(1, 101)
        const probe = yield* DbProbe
        const before = yield* probe.findOrderCalls

        const first = yield* get(`/orders/${order!.order_uid}`)
        assert.strictEqual(first.status, 200)
        assert.strictEqual(first.headers.get("content-type"), "application/json")
        assert.strictEqual(first.headers.get("cache-control"), "no-store")
        assert.deepStrictEqual(json(first.body), order)

        const second = yield* get(`/orders/${order!.order_uid}`)
        assert.strictEqual(second.status, 200)
        assert.strictEqual(second.body, first.body)
        assert.strictEqual((yield* probe.findOrderCalls) - before, 1, "one query for two lookups")

        const head = yield* get(`/orders/${order!.order_uid}`, { method: "HEAD" })
        assert.strictEqual(head.status, 200)
        assert.strictEqual(head.body, "")
      })
    )

    it.effect("an unknown uid is 404 order_not_found", () =>
      Effect.gen(function* () {
        const response = yield* get("/orders/nosuchorder404")
        assert.strictEqual(response.status, 404)
        assert.deepStrictEqual(json(response.body), {
          error: "order_not_found",
          message: "no order with order_uid nosuchorder404"
        })
      })
    )

    it.effect("a uid that cannot be valid is 400 invalid_order_uid, and reaches no query", () =>
      Effect.gen(function* () {
        const probe = yield* DbProbe
        const before = yield* probe.findOrderCalls
        const bads = ["bad-uid", "a".repeat(65), "a%2Fb", "caf%C3%A9", "%00", "x%20y", "..", "%2E"]
        const base = yield* baseUrl
        for (const bad of bads) {
          const response = yield* requestExact(base, `/orders/${bad}`)
          assert.strictEqual(response.status, 400, bad)
          assert.strictEqual(json(response.body)["error"], "invalid_order_uid", bad)
        }
        assert.strictEqual(yield* probe.findOrderCalls, before)
      })
    )

    it.effect("anything no route takes is a JSON 404 not_found", () =>
      Effect.gen(function* () {
        for (const [method, path] of [
          ["GET", "/nope"],
          ["GET", "/orders/"],
          ["GET", "/orders/%E0%A4%A"],
          ["POST", "/orders/abc"],
          ["DELETE", "/healthz"]
        ] as const) {
          const response = yield* get(path, { method })
          assert.strictEqual(response.status, 404, `${method} ${path}`)
          assert.deepStrictEqual(json(response.body), {
            error: "not_found",
            message: "no such route"
          })
          assert.strictEqual(response.headers.get("x-content-type-options"), "nosniff")
        }
      })
    )

    it.effect("100 concurrent requests for one uncached uid make exactly one query", () =>
      Effect.gen(function* () {
        const [order] = yield* stored(1, 102)
        const probe = yield* DbProbe
        const cache = yield* Cache
        const callsBefore = yield* probe.findOrderCalls
        const missesBefore = (yield* cache.stats).misses
        const url = `${yield* baseUrl}/orders/${order!.order_uid}`

        // The query is held until every request has missed, so all 100 overlap it.
        yield* probe.gate.close
        const all = yield* Effect.forkChild(
          Effect.all(
            Array.from({ length: 100 }, () => request(url)),
            { concurrency: "unbounded" }
          )
        )
        yield* waitFor(
          "all 100 requests to miss the cache",
          Effect.map(cache.stats, (stats) => stats.misses - missesBefore >= 100)
        )
        yield* probe.gate.open
        const responses = yield* Fiber.join(all)

        assert.deepStrictEqual(
          responses.map((r) => r.status),
          responses.map(() => 200)
        )
        for (const response of responses) assert.deepStrictEqual(json(response.body), order)
        assert.strictEqual((yield* probe.findOrderCalls) - callsBefore, 1)
      }).pipe(Effect.ensuring(Effect.flatMap(DbProbe, (probe) => probe.gate.open)))
    )

    it.effect("DB down: a cached order is still 200, an uncached one is 503 with Retry-After", () =>
      Effect.gen(function* () {
        const [cached, uncached] = yield* stored(2, 103)
        const health = yield* HealthSwitch
        assert.strictEqual((yield* get(`/orders/${cached!.order_uid}`)).status, 200)

        yield* health.set(down())
        const fromCache = yield* get(`/orders/${cached!.order_uid}`)
        assert.strictEqual(fromCache.status, 200)
        assert.deepStrictEqual(json(fromCache.body), cached)

        const missing = yield* get(`/orders/${uncached!.order_uid}`)
        assert.strictEqual(missing.status, 503)
        assert.strictEqual(missing.headers.get("retry-after"), "2")
        assert.strictEqual(json(missing.body)["error"], "database_unavailable")

        yield* health.set(up)
        assert.strictEqual((yield* get(`/orders/${uncached!.order_uid}`)).status, 200)
      }).pipe(Effect.ensuring(Effect.flatMap(HealthSwitch, (health) => health.set(up))))
    )

    it.effect("GET /metrics counts requests by method, route template and status", () =>
      Effect.gen(function* () {
        const [order] = yield* stored(1, 104)
        yield* get(`/orders/${order!.order_uid}`)
        yield* get("/orders/nosuchmetric")
        yield* get("/no/such/route")

        const response = yield* get("/metrics")
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.headers.get("content-type"), METRICS_CONTENT_TYPE)
        const series = (route: string, status: number) =>
          new RegExp(
            `^http_requests_total\\{(?=[^}]*method="GET")(?=[^}]*route="${route}")` +
              `(?=[^}]*status="${status}")[^}]*\\} [1-9]`,
            "m"
          )
        assert.match(response.body, series("/orders/:uid", 200))
        assert.match(response.body, series("/orders/:uid", 404))
        assert.match(response.body, series("unmatched", 404))
        assert.match(response.body, /^http_request_duration_seconds_bucket\{/m)
        assert.match(response.body, /^cache_hits_total /m)
        assert.match(response.body, /^cache_misses_total /m)
        assert.match(response.body, /^cache_entries /m)
        assert.match(response.body, /^cache_operation_duration_seconds_count\{/m)
        // Raw paths never become label values.
        assert.notInclude(response.body, order!.order_uid)
        assert.notInclude(response.body, "nosuchmetric")
      })
    )

    it.effect("GET /openapi.json describes every route and status, from the code's schemas", () =>
      Effect.gen(function* () {
        const response = yield* get("/openapi.json")
        assert.strictEqual(response.status, 200)
        const document = JSON.parse(response.body) as {
          openapi: string
          paths: Record<string, { get: { responses: Record<string, unknown> } }>
          components: { schemas: Record<string, { required?: Array<string> }> }
        }
        assert.strictEqual(document.openapi, "3.1.0")
        assert.sameMembers(Object.keys(document.paths), [
          "/orders/{uid}",
          "/healthz",
          "/readyz",
          "/metrics",
          "/openapi.json",
          "/"
        ])
        assert.sameMembers(Object.keys(document.paths["/orders/{uid}"]!.get.responses), [
          "200",
          "400",
          "404",
          "500",
          "503"
        ])
        assert.sameMembers(Object.keys(document.paths["/readyz"]!.get.responses), ["200", "503"])
        assert.sameMembers(
          document.components.schemas["Order"]!.required ?? [],
          Object.keys(Order.fields)
        )
        // Every documented path answers (the order path with a stored uid).
        const [order] = yield* stored(1, 105)
        for (const path of Object.keys(document.paths)) {
          const concrete = path.replace("{uid}", order!.order_uid)
          assert.strictEqual((yield* get(concrete)).status, 200, path)
        }
      })
    )

    it.effect(
      "the page and every response carry security headers; the page loads nothing external",
      () =>
        Effect.gen(function* () {
          const page = yield* get("/")
          assert.strictEqual(page.status, 200)
          assert.strictEqual(page.headers.get("content-type"), "text/html; charset=utf-8")
          const csp = page.headers.get("content-security-policy") ?? ""
          assert.include(csp, "default-src 'none'")
          assert.include(csp, "script-src 'self'")
          assert.include(csp, "frame-ancestors 'none'")
          assert.notMatch(csp, /https?:|\*|unsafe-/)
          assert.strictEqual(page.headers.get("x-content-type-options"), "nosniff")
          assert.strictEqual(page.headers.get("x-frame-options"), "DENY")
          assert.strictEqual(page.headers.get("referrer-policy"), "no-referrer")
          assert.notMatch(page.body, /(src|href)="(https?:)?\/\//)
          for (const [path, type] of [
            ["/assets/app.js", "text/javascript; charset=utf-8"],
            ["/assets/style.css", "text/css; charset=utf-8"],
            ["/assets/favicon.svg", "image/svg+xml"]
          ] as const) {
            const asset = yield* get(path)
            assert.strictEqual(asset.status, 200, path)
            assert.strictEqual(asset.headers.get("content-type"), type, path)
          }
          const api = yield* get("/orders/nosuchheaders")
          assert.strictEqual(api.headers.get("x-content-type-options"), "nosniff")
        })
    )

    it.effect("a declared body above the cap is 413, and oversized headers are 431", () =>
      Effect.gen(function* () {
        const large = yield* get("/orders/abc", { method: "POST", body: "x".repeat(2000) })
        assert.strictEqual(large.status, 413)
        assert.strictEqual(json(large.body)["error"], "payload_too_large")

        const headers = yield* get("/healthz", { headers: { "x-filler": "a".repeat(10_000) } })
        assert.strictEqual(headers.status, 431)
      })
    )

    it.effect("a client that never finishes its headers is cut off after the headers timeout", () =>
      Effect.gen(function* () {
        const port = yield* serverPort
        const { reply, millis } = yield* rawExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert.match(reply, /^HTTP\/1\.1 408 /)
        // HTTP_HEADERS_TIMEOUT is 1 s, checked every second.
        assert.isBelow(millis, 4000)
      })
    )

    it.effect("on shutdown, a request in flight completes and new connections are refused", () =>
      Effect.gen(function* () {
        const [order] = yield* stored(1, 106)
        const probe = yield* DbProbe
        const cache = yield* Cache
        const missesBefore = (yield* cache.stats).misses

        // A second server over the same services, to be shut down by this test alone (fresh:
        // otherwise the memo map would hand back the shared server).
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(Layer.fresh(Http.layer), scope)
        const port = yield* Effect.provide(serverPort, context)
        const base = `http://127.0.0.1:${port}`

        yield* probe.gate.close
        const inFlight = yield* Effect.forkChild(request(`${base}/orders/${order!.order_uid}`))
        yield* waitFor(
          "the request to reach the database",
          Effect.map(cache.stats, (stats) => stats.misses > missesBefore)
        )
        const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
        yield* waitFor(
          "the server to stop accepting",
          Effect.promise(() =>
            fetch(`${base}/healthz`).then(
              () => false,
              () => true
            )
          )
        )
        yield* probe.gate.open
        const response = yield* Fiber.join(inFlight)
        assert.strictEqual(response.status, 200)
        assert.deepStrictEqual(json(response.body), order)
        yield* Fiber.join(closing)
      }).pipe(Effect.ensuring(Effect.flatMap(DbProbe, (probe) => probe.gate.open)))
    )

    // Last: the component it registers stays listed as stopped.
    it.effect("GET /healthz is 200; /readyz follows the database and registered components", () =>
      Effect.gen(function* () {
        const health = yield* HealthSwitch
        const readiness = yield* Readiness

        const alive = yield* get("/healthz")
        assert.strictEqual(alive.status, 200)
        assert.deepStrictEqual(json(alive.body), { status: "ok" })

        const ready = yield* get("/readyz")
        assert.strictEqual(ready.status, 200)
        assert.deepStrictEqual(json(ready.body), {
          status: "ready",
          database: "up",
          components: []
        })

        yield* health.set(down())
        const dbDown = yield* get("/readyz")
        assert.strictEqual(dbDown.status, 503)
        assert.strictEqual(json(dbDown.body)["error"], "not_ready")
        assert.strictEqual(json(dbDown.body)["database"], "down")
        yield* health.set(up)

        yield* Effect.scoped(
          Effect.gen(function* () {
            const consumer = yield* readiness.register("consumer")
            const starting = yield* get("/readyz")
            assert.strictEqual(starting.status, 503)
            assert.strictEqual(json(starting.body)["message"], "consumer: starting")
            yield* consumer.ready
            assert.strictEqual((yield* get("/readyz")).status, 200)
            yield* consumer.notReady("paused: database down")
            const paused = yield* get("/readyz")
            assert.strictEqual(json(paused.body)["message"], "consumer: paused: database down")
          })
        )
        // A component that stopped keeps the replica out of rotation.
        const stopped = yield* get("/readyz")
        assert.strictEqual(stopped.status, 503)
        assert.strictEqual(json(stopped.body)["message"], "consumer: stopped")
      }).pipe(Effect.ensuring(Effect.flatMap(HealthSwitch, (health) => health.set(up))))
    )
  })

  describe("when the database cannot be reached", () => {
    const unreachable = Database.layerNoDeps.pipe(
      Layer.provide(pgClientLayer()),
      Layer.provideMerge(
        AppConfig.layerFrom(
          loadConfig({
            ...httpTestEnv,
            // Nothing listens on port 1; the refusal is immediate.
            DATABASE_URL: "postgres://postgres@127.0.0.1:1/orders",
            DB_PING_TIMEOUT: "500 millis"
          })
        )
      )
    )
    const app = Http.layer.pipe(Layer.provideMerge(servicesOver(unreachable)), Layer.orDie)

    it.layer(app, { excludeTestServices: true })((it) => {
      it.effect("a lookup is 503 database_unavailable with Retry-After, whatever health says", () =>
        Effect.gen(function* () {
          const health = yield* HealthSwitch
          // Health not yet updated: the lookup itself meets the refused connection.
          const stale = yield* get("/orders/abc123")
          assert.strictEqual(stale.status, 503)
          assert.strictEqual(stale.headers.get("retry-after"), "2")
          assert.deepStrictEqual(json(stale.body), {
            error: "database_unavailable",
            message: "the database is unavailable and the order is not cached; retry later"
          })

          yield* health.set(down("connection refused"))
          const known = yield* get("/orders/abc123")
          assert.strictEqual(known.status, 503)
          assert.strictEqual(known.headers.get("retry-after"), "2")

          const ready = yield* get("/readyz")
          assert.strictEqual(ready.status, 503)
          assert.strictEqual(json(ready.body)["database"], "down")
          assert.strictEqual((yield* get("/healthz")).status, 200)
        })
      )
    })
  })
})
