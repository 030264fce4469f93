/**
 * End to end: the service as a real process (`node src/main.ts`) against the real Kafka and
 * PostgreSQL, fed mixed traffic and HTTP reads, then a database outage through a breakable
 * proxy. `/metrics` must show every metric of the design, with its labels, moved by exactly
 * what the test did; and the spans of all of it must reach an OTLP collector.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { designMetrics } from "../support/designMetrics.ts"
import { createTopics, eventually, freshKafkaNames, produce } from "../support/kafka.ts"
import { collector, tracesInclude } from "../support/otlpCollector.ts"
import * as PromText from "../support/prometheusText.ts"
import { startServiceBehindProxy } from "../support/ServiceBehindProxy.ts"
import { mixedTraffic } from "../support/traffic.ts"

const MESSAGES = 300
const ROUTE = "/orders/:uid"

const request = (url: string) =>
  Effect.tryPromise(async () => {
    // Bounded: a request that never completes must fail the poll, not hang the test.
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) })
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      body: await response.text()
    }
  })

/** Once the service listens, a failed request is a failed test. */
const get = (url: string) => Effect.orDie(request(url))

describe("metrics and traces of the running service (real Kafka and PostgreSQL)", () => {
  it.live(
    "every design metric is exposed with its labels and moves with the traffic; spans exported",
    () => {
      const names = freshKafkaNames()
      const traffic = mixedTraffic(MESSAGES, 11)
      const deadLetters = traffic.deadLetters.invalid + traffic.deadLetters.already_exists
      const [cachedUid, uncachedUid] = [...traffic.stored.keys()]
      return Effect.gen(function* () {
        const otlp = yield* collector
        yield* createTopics([names.topic, names.dlqTopic], 3)
        const { service, proxy, base } = yield* startServiceBehindProxy("metrics-e2e", names, {
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint
        })
        const failure = (what: string) => `${what}; service output:\n${service.output()}`

        const scrape = get(`${base}/metrics`).pipe(
          Effect.map((response) => {
            assert.strictEqual(response.status, 200, failure("GET /metrics"))
            assert.include(response.contentType, "text/plain")
            assert.include(response.contentType, "version=0.0.4")
            return PromText.parse(response.body)
          })
        )
        const total = (exposition: PromText.Exposition, name: string, labels = {}) =>
          PromText.select(exposition, name, labels).reduce((sum, s) => sum + s.value, 0)

        yield* eventually(
          failure("the service to be ready"),
          request(`${base}/readyz`).pipe(
            Effect.map((r) => r.status === 200),
            // Refused until the process listens, which is what is being waited for.
            Effect.catchTag("UnknownError", () => Effect.succeed(false))
          ),
          60_000
        )

        yield* produce(names.topic, traffic.messages)
        yield* eventually(
          failure(`all ${MESSAGES} messages consumed and every partition's lag at 0`),
          Effect.map(scrape, (exposition) => {
            const lags = PromText.select(exposition, "consumer_lag", { topic: names.topic })
            return (
              total(exposition, "consumer_messages_total") >= MESSAGES &&
              lags.length === 3 &&
              lags.every((lag) => lag.value === 0)
            )
          })
        )

        const lookup = (uid: string) =>
          get(`${base}/orders/${uid}`).pipe(Effect.map((r) => r.status))
        assert.strictEqual(yield* lookup(cachedUid!), 200, "first read: a miss, loaded")
        assert.strictEqual(yield* lookup(cachedUid!), 200, "second read: a hit")
        assert.strictEqual(yield* lookup("nosuchorder"), 404)
        assert.strictEqual(yield* lookup("not-a-uid"), 400)

        yield* proxy.cut
        yield* eventually(
          failure("db_up 0 and transient errors counted while the database is cut off"),
          Effect.map(
            scrape,
            (exposition) =>
              PromText.valueOf(exposition, "db_up") === 0 &&
              total(exposition, "db_transient_errors_total") > 0
          )
        )
        assert.strictEqual(yield* lookup(cachedUid!), 200, "a cached order outlives the outage")
        assert.strictEqual(yield* lookup(uncachedUid!), 503)
        yield* proxy.restore
        yield* eventually(
          failure("db_up back to 1"),
          Effect.map(scrape, (exposition) => PromText.valueOf(exposition, "db_up") === 1)
        )

        const exposition = yield* scrape

        for (const metric of designMetrics) {
          assert.strictEqual(exposition.types.get(metric.name), metric.type, metric.name)
          const name = metric.type === "histogram" ? `${metric.name}_count` : metric.name
          const samples = PromText.select(exposition, name)
          assert.isAbove(samples.length, 0, `${name} is exposed`)
          for (const sample of samples) {
            for (const label of metric.labels) assert.property(sample.labels, label, name)
          }
        }

        const http = (status: string) =>
          total(exposition, "http_requests_total", { method: "GET", route: ROUTE, status })
        assert.strictEqual(http("200"), 3)
        assert.strictEqual(http("404"), 1)
        assert.strictEqual(http("400"), 1)
        assert.strictEqual(http("503"), 1)
        assert.strictEqual(
          total(exposition, "http_request_duration_seconds_count", { route: ROUTE }),
          6
        )
        // Routes are labelled by template: no uid ever becomes a label value.
        for (const sample of PromText.select(exposition, "http_requests_total")) {
          assert.notInclude(sample.labels["route"], cachedUid!)
          assert.notInclude(sample.labels["route"], "nosuchorder")
        }

        assert.strictEqual(
          PromText.valueOf(exposition, "consumer_messages_total", { status: "valid" }),
          MESSAGES - deadLetters
        )
        assert.strictEqual(
          PromText.valueOf(exposition, "consumer_messages_total", { status: "invalid" }),
          deadLetters
        )
        assert.strictEqual(
          total(exposition, "consumer_messages_total", { status: "error" }),
          0,
          "no unexpected errors"
        )
        for (const reason of ["invalid", "already_exists"] as const) {
          assert.strictEqual(
            PromText.valueOf(exposition, "consumer_dlq_messages_total", { reason }),
            traffic.deadLetters[reason],
            reason
          )
        }
        assert.strictEqual(
          PromText.valueOf(exposition, "consumer_processing_latency_seconds_count"),
          MESSAGES
        )

        // Reads: miss+load, hit, miss (404), hit (outage), miss (outage, 503).
        assert.strictEqual(PromText.valueOf(exposition, "cache_hits_total"), 2)
        assert.strictEqual(PromText.valueOf(exposition, "cache_misses_total"), 3)
        const cacheOps = (operation: string) =>
          PromText.valueOf(exposition, "cache_operation_duration_seconds_count", { operation })
        assert.strictEqual(cacheOps("get"), 5)
        assert.strictEqual(cacheOps("set"), 1)
        assert.strictEqual(PromText.valueOf(exposition, "cache_entries"), 1)

        const dbOps = (operation: string) =>
          total(exposition, "db_query_duration_seconds_count", { operation })
        assert.isAtLeast(dbOps("insertOrders"), 1)
        assert.strictEqual(dbOps("findOrder"), 2, "the two lookups the cache could not answer")
        assert.isAtLeast(dbOps("ping"), 2)
        assert.isAtLeast(dbOps("latestOrders"), 1, "the cache warm-up")

        // Stopping flushes the span batch, so everything traced above has been posted by then.
        yield* service.kill("SIGTERM")
        yield* service.exited.pipe(
          Effect.timeoutOrElse({
            duration: "30 seconds",
            orElse: () => Effect.die(new Error(failure("no exit within 30 s of SIGTERM")))
          })
        )
        for (const span of [
          "Consumer.handleBatch",
          "Database.insertOrders",
          "Database.findOrder",
          "Http.getOrder",
          "order-service"
        ]) {
          assert.isTrue(tracesInclude(otlp, span), failure(`${span} exported`))
        }
      }).pipe(Effect.scoped)
    },
    { timeout: 120_000 }
  )
})
