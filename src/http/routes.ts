/**
 * Every route of the service: the order lookup, the operational endpoints, and the lookup
 * page with its assets. Each group takes its services when the router is built, so the
 * handlers need nothing at request time but the request.
 */
import { readFile } from "node:fs/promises"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { Cache } from "../cache/Cache.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { OrderUid } from "../domain/Order.ts"
import { HealthRef } from "../health/HealthRef.ts"
import { MetricsExporter } from "../metrics/MetricsExporter.ts"
import { METRICS_CONTENT_TYPE, openApiDocument } from "./Api.ts"
import { observe } from "./middleware.ts"
import { Readiness } from "./Readiness.ts"
import { errorResponse } from "./responses.ts"

const UidParams = Schema.Struct({ uid: OrderUid })

const orderRoutes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const cache = yield* Cache
    const health = yield* HealthRef
    const { database } = yield* AppConfig
    // The database can come back no sooner than the next health check.
    const retryAfter = String(Math.max(1, Math.ceil(Duration.toSeconds(database.pingInterval))))

    // Orders carry personal data: no shared cache may keep them.
    const found = (json: Uint8Array) =>
      HttpServerResponse.uint8Array(json, {
        contentType: "application/json",
        headers: { "cache-control": "no-store" }
      })
    const unavailable = errorResponse(
      "database_unavailable",
      "the database is unavailable and the order is not cached; retry later",
      { "retry-after": retryAfter }
    )

    const lookup = (orderUid: string) =>
      Effect.gen(function* () {
        const db = yield* health.get
        if (db._tag === "Down") {
          // Known down: answer from the cache or at once, instead of waiting on a dead pool.
          const cached = yield* cache.get(orderUid)
          return Option.match(cached, { onSome: found, onNone: () => unavailable })
        }
        return yield* cache.getOrLoad(orderUid).pipe(
          Effect.map(found),
          Effect.catchTags({
            OrderNotFound: (error) =>
              Effect.succeed(errorResponse("order_not_found", error.message)),
            DatabaseUnavailable: () => Effect.succeed(unavailable)
          })
        )
      }).pipe(Effect.withSpan("Http.getOrder", { attributes: { "order.uid": orderUid } }))

    yield* router.add(
      "GET",
      "/orders/:uid",
      HttpRouter.schemaPathParams(UidParams).pipe(
        Effect.matchEffect({
          onFailure: () =>
            Effect.succeed(
              errorResponse(
                "invalid_order_uid",
                "order_uid must be 1 to 64 ASCII letters and digits"
              )
            ),
          onSuccess: ({ uid }) => lookup(uid)
        })
      )
    )
  })
)

const operationRoutes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const health = yield* HealthRef
    const readiness = yield* Readiness
    const exporter = yield* MetricsExporter
    const openApiJson = JSON.stringify(openApiDocument)

    yield* router.add("GET", "/healthz", HttpServerResponse.jsonUnsafe({ status: "ok" }))

    yield* router.add(
      "GET",
      "/readyz",
      Effect.gen(function* () {
        const db = yield* health.get
        const components = yield* readiness.components
        const waiting = components.flatMap((c) => (c.ready ? [] : [`${c.component}: ${c.reason}`]))
        const database = db._tag === "Up" ? "up" : "down"
        if (database === "up" && waiting.length === 0) {
          return HttpServerResponse.jsonUnsafe({ status: "ready", database, components })
        }
        const reasons = [...(database === "down" ? ["database: down"] : []), ...waiting]
        return HttpServerResponse.jsonUnsafe(
          { error: "not_ready", message: reasons.join("; "), database, components },
          { status: 503, headers: { "cache-control": "no-store" } }
        )
      })
    )

    yield* router.add(
      "GET",
      "/metrics",
      Effect.map(exporter.scrape, (text) =>
        HttpServerResponse.text(text, {
          contentType: METRICS_CONTENT_TYPE,
          headers: { "cache-control": "no-store" }
        })
      )
    )

    yield* router.add(
      "GET",
      "/openapi.json",
      HttpServerResponse.text(openApiJson, { contentType: "application/json" })
    )
  })
)

/** The lookup page's files, read once at start; a missing file stops start-up. */
const asset = (name: string) =>
  Effect.promise(() => readFile(new URL(`./page/${name}`, import.meta.url)))

const pageRoutes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const files = [
      ["/", "index.html", "text/html; charset=utf-8"],
      ["/assets/app.js", "app.js", "text/javascript; charset=utf-8"],
      ["/assets/style.css", "style.css", "text/css; charset=utf-8"],
      ["/assets/favicon.svg", "favicon.svg", "image/svg+xml"]
    ] as const
    for (const [path, name, contentType] of files) {
      const body = yield* asset(name)
      yield* router.add(
        "GET",
        path,
        HttpServerResponse.uint8Array(body, {
          contentType,
          headers: { "cache-control": "no-cache" }
        })
      )
    }
  })
)

/** Needs `Cache`, `HealthRef`, `Readiness`, `MetricsExporter` and `AppConfig`. */
export const routes = Layer.mergeAll(orderRoutes, operationRoutes, pageRoutes).pipe(
  Layer.provide(observe)
)
