/**
 * The dashboard and the alerts against a real Prometheus scraping the real service: Debian's
 * server scrapes `/metrics` of `node src/main.ts`, which runs against the real Kafka and a fresh
 * PostgreSQL database behind a breakable proxy. Then every PromQL expression of the dashboard
 * and of the alert rules is evaluated through the HTTP API and must parse and return data.
 *
 * Real traffic puts every alert's condition in place: rounds of mixed traffic, each scraped
 * before the next, so counters rise between samples (dead letters well above 5%); HTTP lookups
 * with hits, misses, 404 and 400; then the database is cut off, so `db_up` drops to 0, lookups
 * the cache cannot answer get 503, and a backlog produced while consumption is paused makes
 * the lag grow past 1000. The expressions are evaluated during that outage.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { Cache } from "../../src/cache/Cache.ts"
import * as Metrics from "../../src/metrics/metrics.ts"
import { MetricsExporter } from "../../src/metrics/MetricsExporter.ts"
import { ALERTS_FILE, alertRules, dashboardExpressions } from "../support/dashboard.ts"
import { createTopics, eventually, freshKafkaNames, produce } from "../support/kafka.ts"
import * as Prometheus from "../support/prometheus.ts"
import { startServiceBehindProxy } from "../support/ServiceBehindProxy.ts"
import * as TestDatabase from "../support/TestDatabase.ts"
import { mixedTraffic } from "../support/traffic.ts"

const JOB = "order-service"
/** Rounds of mixed traffic, each consumed and scraped before the next is produced. */
const ROUNDS = 3
const ROUND_SIZE = 100
/** Produced during the outage: over 1000 behind per partition on 3 partitions. */
const BACKLOG = 4_500
/** Bounds each wait on Prometheus; most answer within a few 1 s scrapes. */
const QUERY_DEADLINE_MS = 30_000

const request = (url: string) =>
  Effect.tryPromise(async () => {
    // Bounded: a request that never completes must fail the poll, not hang the test.
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) })
    return { status: response.status, body: await response.text() }
  })

/** Once the service listens, a failed request is a failed test. */
const get = (url: string) => Effect.orDie(request(url))

interface Sample {
  readonly metric: Record<string, string>
  readonly value: readonly [number, string]
}

/** Adds `context()`, as it is when a defect happens, to the defect's message. */
const withContext =
  (context: () => string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>) =>
    Effect.catchDefect(self, (defect) =>
      Effect.die(new Error(`${defect instanceof Error ? defect.message : defect}\n${context()}`))
    )

/**
 * Polls `expr` until it returns at least one series that satisfies `accept`; a parse error
 * fails at once, no data within the deadline fails; either failure carries `context()` (the
 * logs) as they are when it happens.
 */
const awaitData = (
  prometheus: Prometheus.Prometheus,
  label: string,
  expr: string,
  context: () => string,
  accept: (samples: ReadonlyArray<Sample>) => boolean = (samples) => samples.length > 0
) =>
  Effect.gen(function* () {
    let samples: ReadonlyArray<Sample> = []
    yield* eventually(
      `${label}: data for ${expr}`,
      prometheus.query(expr).pipe(
        Effect.flatMap((result) => {
          if (result.status !== "success") {
            return Effect.die(new Error(`${label}: Prometheus refused ${expr}: ${result.error}`))
          }
          samples = (result.data?.result ?? []) as ReadonlyArray<Sample>
          return Effect.succeed(accept(samples))
        })
      ),
      QUERY_DEADLINE_MS,
      250
    ).pipe(withContext(context))
    return samples
  })

const valueOf = (sample: Sample | undefined) => Number(sample?.value[1])

const update = <A>(metric: Metric.Metric<A, unknown>, value: A, labels = {}) =>
  Metric.update(Metric.withAttributes(metric, labels), value)

/**
 * Every metric of the design recorded in process, for the promtool lint below: it checks
 * the exposition format of each metric type without starting the service.
 */
const recordEveryMetric = Effect.gen(function* () {
  const cache = yield* Cache
  // A lookup of an order that does not exist: a miss, a db query, a cache operation.
  yield* cache.getOrLoad("none").pipe(Effect.catchTag("OrderNotFound", () => Effect.void))
  const route = { method: "GET", route: "/orders/:uid" }
  yield* update(Metrics.httpRequests, 1, { ...route, status: "200" })
  yield* update(Metrics.httpRequestDuration, 0.002, { ...route, status: "200" })
  yield* update(Metrics.consumerMessages, 8, { status: "valid" })
  yield* update(Metrics.consumerDlqMessages, 2, { reason: "invalid" })
  yield* update(Metrics.consumerProcessingLatency, 0.04)
  yield* update(Metrics.consumerLag, 1000, { topic: "orders", partition: "0" })
})

describe("dashboard and alerts on a real Prometheus scraping the service", () => {
  it.live(
    "every dashboard query and alert expression parses and returns data",
    () => {
      const names = freshKafkaNames()
      return Effect.gen(function* () {
        yield* createTopics([names.topic, names.dlqTopic], 3)
        const { service, proxy, port, base } = yield* startServiceBehindProxy(
          "prometheus-e2e",
          names
        )
        // Scrapes fail until the service listens; Prometheus just retries every second.
        const prometheus = yield* Prometheus.start({
          job: JOB,
          targets: [`127.0.0.1:${port}`],
          ruleFiles: [ALERTS_FILE],
          scrapeInterval: "1s"
        })
        const context = () =>
          `service output:\n${service.output()}\nprometheus log:\n${prometheus.log()}`
        const query = (
          label: string,
          expr: string,
          accept?: (s: ReadonlyArray<Sample>) => boolean
        ) => awaitData(prometheus, label, expr, context, accept)

        yield* eventually(
          "the service to be ready",
          request(`${base}/readyz`).pipe(
            Effect.map((r) => r.status === 200),
            // Refused until the process listens, which is what is being waited for.
            Effect.catchTag("UnknownError", () => Effect.succeed(false))
          ),
          30_000
        ).pipe(withContext(context))

        const lookup = (uid: string) =>
          get(`${base}/orders/${uid}`).pipe(Effect.map((r) => r.status))
        /** Stored orders nobody looked up: the cache cannot answer for them. */
        const uncached: Array<string> = []
        for (let round = 0; round < ROUNDS; round++) {
          const traffic = mixedTraffic(ROUND_SIZE, 100 + round)
          // The DLQ alert needs dead letters in every round, not only in the first sample.
          assert.isAbove(traffic.deadLetters.invalid, 0, `round ${round} has invalid messages`)
          yield* produce(names.topic, traffic.messages)
          // A round becomes visible to Prometheus before the next starts: counters then rise
          // between samples, which is what rate() measures.
          const consumed = (round + 1) * ROUND_SIZE
          yield* query(
            `round ${round} consumed`,
            "sum(consumer_messages_total)",
            (samples) => valueOf(samples[0]) >= consumed
          )
          const [first, ...rest] = traffic.stored.keys()
          assert.strictEqual(yield* lookup(first!), 200, "first read: a miss, loaded")
          assert.strictEqual(yield* lookup(first!), 200, "second read: a hit")
          assert.strictEqual(yield* lookup(`nosuchorder${round}`), 404)
          assert.strictEqual(yield* lookup("not-a-uid"), 400)
          uncached.push(...rest)
        }

        yield* proxy.cut
        yield* query("db down", "min(db_up) == 0")
        // Real 503s on the lookup route, which the 5xx queries count (probes are left out). In
        // two steps, each scraped before the next: a series first seen at its final value has
        // no increase for rate() to show.
        const unavailable = `http_requests_total{route="/orders/:uid", status="503"}`
        assert.isAtLeast(uncached.length, 6, "enough stored orders nobody looked up")
        let unavailableSoFar = 0
        for (const uids of [uncached.slice(0, 1), uncached.slice(1, 6)]) {
          for (const uid of uids) {
            assert.strictEqual(yield* lookup(uid), 503, `${uid} uncached while the db is cut`)
          }
          const seen = (unavailableSoFar += uids.length)
          yield* query(
            `${seen} 503s scraped`,
            `sum(${unavailable})`,
            (samples) => valueOf(samples[0]) >= seen
          )
        }
        // Consumption is paused while the database is down: all of this becomes lag.
        yield* produce(names.topic, mixedTraffic(BACKLOG, 999).messages)
        yield* query("lag", "max(consumer_lag) > 1000")

        const dashboard = dashboardExpressions()
        const alerts = alertRules()
        assert.isAbove(dashboard.length, 0)
        assert.isAbove(alerts.length, 0)
        for (const { title, expr } of dashboard) yield* query(title, expr)
        // Every alert's condition holds now, so every alert expression returns series.
        for (const { alert, expr } of alerts) yield* query(alert, expr)

        const [up] = yield* query("target", `up{job="${JOB}"}`)
        assert.strictEqual(valueOf(up), 1, "Prometheus scrapes the service")
        const [dbUp] = yield* query("db_up", "min(db_up)")
        assert.strictEqual(valueOf(dbUp), 0, "the outage is what Prometheus sees")

        // The service's own exposition, as scraped, passes Prometheus's linter.
        const exposition = yield* get(`${base}/metrics`)
        assert.strictEqual(exposition.status, 200)
        const lint = yield* Prometheus.promtool(["check", "metrics"], exposition.body)
        assert.strictEqual(lint.code, 0, lint.output)
      }).pipe(Effect.scoped)
    },
    { timeout: 120_000 }
  )

  it.live("promtool accepts the alert rules and lints the exposition clean", () =>
    Effect.gen(function* () {
      const rules = yield* Prometheus.promtool(["check", "rules", ALERTS_FILE])
      assert.strictEqual(rules.code, 0, rules.output)
      assert.include(rules.output, `SUCCESS: ${alertRules().length} rules found`)

      yield* recordEveryMetric.pipe(
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
