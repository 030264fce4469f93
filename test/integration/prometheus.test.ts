/**
 * The dashboard and the alerts against a real Prometheus: Debian's server scrapes the
 * exposition `MetricsExporter` produces, then every PromQL expression of the dashboard and of
 * the alert rules is evaluated through the HTTP API and must parse and return data.
 *
 * The scraped endpoint runs a round of traffic before each scrape, so counters move between
 * scrapes and `rate()` has something to show. Database, health and cache metrics come from the
 * real code over the real PostgreSQL; a second Database on a closed port is the outage the
 * alerts watch for. Consumer and HTTP metrics are recorded directly, with the labels their code
 * uses, so that the test can hold them in every alert's condition (lag growing, a high share of
 * dead letters, 5xx answers); `metrics.test.ts` covers their real paths end to end.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Metric, Schedule } from "effect"
import { Cache } from "../../src/cache/Cache.ts"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { Database } from "../../src/db/Database.ts"
import { HealthRef } from "../../src/health/HealthRef.ts"
import * as Metrics from "../../src/metrics/metrics.ts"
import { METRICS_CONTENT_TYPE } from "../../src/http/Api.ts"
import { MetricsExporter } from "../../src/metrics/MetricsExporter.ts"
import { loadConfig } from "../support/config.ts"
import { ALERTS_FILE, alertRules, dashboardExpressions } from "../support/dashboard.ts"
import { sampleOrders } from "../support/orders.ts"
import * as Prometheus from "../support/prometheus.ts"
import * as TestDatabase from "../support/TestDatabase.ts"

const JOB = "order-service"
/** Bounds the whole wait for data; each query normally answers within a few scrapes. */
const DATA_DEADLINE = Duration.seconds(60)

/** A database that refuses every connection: what an outage looks like to the service. */
const downConfig = loadConfig({
  DATABASE_URL: "postgres://postgres@127.0.0.1:1/orders",
  DB_PING_INTERVAL: "500 millis",
  DB_PING_TIMEOUT: "500 millis"
})
// Fresh: built apart from the test database's layers, which share the same layer values.
const OutageHealth = Layer.fresh(
  HealthRef.layer.pipe(
    Layer.provide(Database.layer),
    Layer.provide(AppConfig.layerFrom(downConfig))
  )
)

const TestLayer = Layer.mergeAll(
  Cache.layer.pipe(Layer.provideMerge(TestDatabase.layer())),
  OutageHealth,
  MetricsExporter.layer
)

const update = <A>(metric: Metric.Metric<A, unknown>, value: A, labels = {}) =>
  Metric.update(Metric.withAttributes(metric, labels), value)

/** What happens between two scrapes: some lookups, some ingestion, a few failures. */
const trafficRound = (round: number, uids: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const cache = yield* Cache
    const uid = uids[round % uids.length]!
    // The first lookup of a uid misses and loads it, the second hits.
    yield* cache.getOrLoad(uid)
    yield* cache.getOrLoad(uid)
    yield* cache
      .getOrLoad(`missing${round}`)
      .pipe(Effect.catchTag("OrderNotFound", () => Effect.void))

    const route = { method: "GET", route: "/orders/:uid" }
    yield* update(Metrics.httpRequests, 2, { ...route, status: "200" })
    yield* update(Metrics.httpRequests, 1, { ...route, status: "404" })
    yield* update(Metrics.httpRequests, 1, { ...route, status: "503" })
    for (const [status, seconds] of [
      ["200", 0.002],
      ["404", 0.004],
      ["503", 0.02]
    ] as const) {
      yield* update(Metrics.httpRequestDuration, seconds, { ...route, status })
    }

    yield* update(Metrics.consumerMessages, 8, { status: "valid" })
    yield* update(Metrics.consumerMessages, 2, { status: "invalid" })
    yield* update(Metrics.consumerDlqMessages, 2, { reason: "invalid" })
    yield* update(Metrics.consumerProcessingLatency, 0.04 + (round % 5) * 0.01)
    // Lag keeps growing: what the lag alert is about.
    for (const partition of ["0", "1", "2"]) {
      yield* update(Metrics.consumerLag, 1000 + 250 * round, { topic: "orders", partition })
    }
  })

/** Why the last scrape failed, if it did: shown when a query never gets data. */
let lastScrapeError = "none"

/** Serves `/metrics` on a free loopback port; `scrape` runs a traffic round first. */
const metricsEndpoint = (scrape: (round: number) => Promise<string>) =>
  Effect.acquireRelease(
    Effect.callback<Server>((resume) => {
      let round = 0
      const server = createServer((request, response) => {
        if (request.url !== "/metrics") return void response.writeHead(404).end()
        scrape(round++).then(
          (body) => response.writeHead(200, { "content-type": METRICS_CONTENT_TYPE }).end(body),
          (error: unknown) => {
            lastScrapeError = String(error)
            response.writeHead(500).end(lastScrapeError)
          }
        )
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )

/** Polls `expr` until it returns at least one series; a parse error fails at once. */
const awaitData = (prometheus: Prometheus.Prometheus, label: string, expr: string) =>
  prometheus.query(expr).pipe(
    Effect.flatMap((result) => {
      if (result.status !== "success") {
        return Effect.die(new Error(`${label}: Prometheus refused ${expr}: ${result.error}`))
      }
      return (result.data?.result.length ?? 0) > 0
        ? Effect.succeed(result.data!.result)
        : Effect.fail("no data yet" as const)
    }),
    Effect.retry(Schedule.spaced("250 millis")),
    Effect.timeoutOrElse({
      duration: DATA_DEADLINE,
      orElse: () =>
        Effect.die(
          new Error(
            `${label}: no data for ${expr}\nlast scrape error: ${lastScrapeError}\n` +
              prometheus.log()
          )
        )
    })
  )

describe("dashboard and alerts on a real Prometheus", () => {
  it.live(
    "every dashboard query and alert expression parses and returns data",
    () =>
      Effect.gen(function* () {
        const db = yield* Database
        const exporter = yield* MetricsExporter
        const orders = yield* sampleOrders(5, 7)
        yield* db.insertOrders(orders)
        const uids = orders.map((order) => order.order_uid)

        const context = yield* Effect.context<Cache | MetricsExporter>()
        const server = yield* metricsEndpoint((round) =>
          Effect.runPromiseWith(context)(
            trafficRound(round, uids).pipe(Effect.andThen(exporter.scrape))
          )
        )
        const { port } = server.address() as AddressInfo

        const prometheus = yield* Prometheus.start({
          job: JOB,
          targets: [`127.0.0.1:${port}`],
          ruleFiles: [ALERTS_FILE]
        })

        const dashboard = dashboardExpressions()
        const alerts = alertRules()
        assert.isAbove(dashboard.length, 0)
        assert.isAbove(alerts.length, 0)
        for (const { title, expr } of dashboard) yield* awaitData(prometheus, title, expr)
        // The traffic above is an outage with growing lag, many dead letters and 5xx answers:
        // every alert's condition holds, so every alert expression returns series.
        for (const { alert, expr } of alerts) yield* awaitData(prometheus, alert, expr)

        const [dbUp] = yield* awaitData(prometheus, "db_up", "min(db_up)")
        assert.strictEqual((dbUp as { value: [number, string] }).value[1], "0")
        const [up] = yield* awaitData(prometheus, "target", `up{job="${JOB}"}`)
        assert.strictEqual((up as { value: [number, string] }).value[1], "1")
      }).pipe(
        Effect.provide(TestLayer),
        // The exporter reads only this test's metrics.
        Effect.provideService(Metric.MetricRegistry, new Map()),
        Effect.scoped
      ),
    { timeout: 120_000 }
  )

  it.live("promtool accepts the alert rules and lints the exposition clean", () =>
    Effect.gen(function* () {
      const rules = yield* Prometheus.promtool(["check", "rules", ALERTS_FILE])
      assert.strictEqual(rules.code, 0, rules.output)
      assert.include(rules.output, `SUCCESS: ${alertRules().length} rules found`)

      yield* trafficRound(0, ["none"]).pipe(
        Effect.catchTag("OrderNotFound", () => Effect.void),
        Effect.provide(Cache.layer.pipe(Layer.provideMerge(TestDatabase.layer())))
      )
      const exposition = yield* Effect.flatMap(MetricsExporter, (exporter) => exporter.scrape)
      const lint = yield* Prometheus.promtool(["check", "metrics"], exposition)
      assert.strictEqual(lint.code, 0, lint.output)
    }).pipe(
      Effect.provide(MetricsExporter.layer),
      Effect.provideService(Metric.MetricRegistry, new Map())
    )
  )
})
