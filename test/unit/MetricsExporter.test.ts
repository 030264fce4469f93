import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import * as Metrics from "../../src/metrics/metrics.ts"
import { MetricsExporter } from "../../src/metrics/MetricsExporter.ts"
import { designMetrics } from "../support/designMetrics.ts"
import * as PromText from "../support/prometheusText.ts"

const route = { method: "GET", route: "/orders/:uid" }

/** One of every metric, with the labels the pipeline, cache, DB and HTTP code attach. */
const recordTraffic = Effect.gen(function* () {
  const update = <A>(metric: Metric.Metric<A, unknown>, value: A, labels = {}) =>
    Metric.update(Metric.withAttributes(metric, labels), value)

  yield* update(Metrics.httpRequests, 1, { ...route, status: "200" })
  yield* update(Metrics.httpRequests, 1, { ...route, status: "200" })
  yield* update(Metrics.httpRequests, 1, { ...route, status: "404" })
  yield* update(Metrics.httpRequestDuration, 0.003, { ...route, status: "200" })
  yield* update(Metrics.consumerMessages, 5, { status: "valid" })
  yield* update(Metrics.consumerMessages, 2, { status: "invalid" })
  yield* update(Metrics.consumerProcessingLatency, 0.2)
  yield* update(Metrics.consumerLag, 7, { topic: "orders", partition: "0" })
  yield* update(Metrics.consumerLag, 3, { topic: "orders", partition: "1" })
  yield* update(Metrics.consumerDlqMessages, 2, { reason: "invalid" })
  yield* update(Metrics.cacheHits, 4)
  yield* update(Metrics.cacheMisses, 1)
  yield* update(Metrics.cacheOperationDuration, 0.000_02, { operation: "get" })
  yield* update(Metrics.cacheOperationDuration, 0.000_003, { operation: "get" })
  yield* update(Metrics.cacheEntries, 42)
  yield* update(Metrics.dbUp, 1)
  yield* update(Metrics.dbQueryDuration, 0.012, { operation: "findOrder" })
  yield* update(Metrics.dbTransientErrors, 1)
})

const scrape = Effect.gen(function* () {
  const exporter = yield* MetricsExporter
  return PromText.parse(yield* exporter.scrape)
})

/**
 * Each test gets its own metric registry, which the exporter reads because it is built inside
 * it; metrics recorded by other tests in this worker stay out.
 */
const isolated = <A, E>(self: Effect.Effect<A, E, MetricsExporter>) =>
  self.pipe(
    Effect.provide(MetricsExporter.layer),
    Effect.provideService(Metric.MetricRegistry, new Map())
  )

/** The finite `le` bounds of one histogram series, in the order they are exposed. */
const bucketBounds = (exposition: PromText.Exposition, name: string, labels = {}) =>
  PromText.select(exposition, `${name}_bucket`, labels).map((sample) => sample.labels["le"])

describe("MetricsExporter", () => {
  it.effect("exposes every metric of the design under its Prometheus name and type", () =>
    Effect.gen(function* () {
      yield* recordTraffic
      const exposition = yield* scrape

      for (const metric of designMetrics) {
        assert.strictEqual(exposition.types.get(metric.name), metric.type, metric.name)
        const suffixes = metric.type === "histogram" ? ["_bucket", "_sum", "_count"] : [""]
        for (const suffix of suffixes) {
          const samples = PromText.select(exposition, metric.name + suffix)
          assert.isAbove(samples.length, 0, `${metric.name}${suffix} has samples`)
          for (const sample of samples) {
            for (const label of metric.labels) {
              assert.property(sample.labels, label, `${metric.name}${suffix} has ${label}`)
            }
          }
        }
        const unit = exposition.units.get(metric.name)
        assert.strictEqual(unit, metric.name.endsWith("_seconds") ? "seconds" : undefined)
      }
    }).pipe(isolated)
  )

  it.effect("carries labels and values as recorded, without OTel scope or target info", () =>
    Effect.gen(function* () {
      yield* recordTraffic
      const exposition = yield* scrape

      assert.strictEqual(
        PromText.valueOf(exposition, "http_requests_total", { ...route, status: "200" }),
        2
      )
      assert.strictEqual(
        PromText.valueOf(exposition, "http_requests_total", { ...route, status: "404" }),
        1
      )
      assert.strictEqual(
        PromText.valueOf(exposition, "consumer_messages_total", { status: "invalid" }),
        2
      )
      assert.strictEqual(
        PromText.valueOf(exposition, "consumer_lag", { topic: "orders", partition: "0" }),
        7
      )
      assert.strictEqual(PromText.valueOf(exposition, "cache_hits_total"), 4)
      assert.strictEqual(PromText.valueOf(exposition, "cache_entries"), 42)
      assert.strictEqual(PromText.valueOf(exposition, "db_up"), 1)
      assert.strictEqual(
        PromText.valueOf(exposition, "cache_operation_duration_seconds_count", {
          operation: "get"
        }),
        2
      )
      assert.closeTo(
        PromText.valueOf(exposition, "db_query_duration_seconds_sum", { operation: "findOrder" }),
        0.012,
        1e-9
      )

      assert.isFalse(exposition.samples.some((sample) => sample.name === "target_info"))
      for (const sample of exposition.samples) {
        assert.notProperty(sample.labels, "otel_scope_name", sample.name)
      }
    }).pipe(isolated)
  )

  it.effect(
    "uses the buckets of metrics.ts: sub-millisecond for the cache, ms to s elsewhere",
    () =>
      Effect.gen(function* () {
        yield* recordTraffic
        const exposition = yield* scrape
        const expected = (bounds: ReadonlyArray<number>) => [...bounds.map(String), "+Inf"]

        assert.deepStrictEqual(
          bucketBounds(exposition, "cache_operation_duration_seconds"),
          expected(Metrics.cacheSeconds)
        )
        assert.deepStrictEqual(
          bucketBounds(exposition, "db_query_duration_seconds"),
          expected(Metrics.requestSeconds)
        )
        assert.deepStrictEqual(
          bucketBounds(exposition, "http_request_duration_seconds"),
          expected(Metrics.requestSeconds)
        )
        assert.deepStrictEqual(
          bucketBounds(exposition, "consumer_processing_latency_seconds"),
          expected(Metrics.processingSeconds)
        )
        // The shapes the dashboards rely on, whatever the exact numbers become.
        assert.isTrue(Metrics.cacheSeconds.filter((bound) => bound < 0.001).length >= 5)
        // A cache hit is answered in about 0.2 ms: the request buckets must resolve below 1 ms.
        assert.isTrue(Metrics.requestSeconds.filter((bound) => bound < 0.001).length >= 3)
        assert.isAtLeast(Metrics.requestSeconds.at(-1) ?? 0, 5)

        // 3 µs and 20 µs: one in the first bucket, both by 25 µs, cumulative counts after that.
        const cacheBucket = (le: string) =>
          PromText.valueOf(exposition, "cache_operation_duration_seconds_bucket", {
            operation: "get",
            le
          })
        assert.strictEqual(cacheBucket("0.000005"), 1)
        assert.strictEqual(cacheBucket("0.00001"), 1)
        assert.strictEqual(cacheBucket("0.000025"), 2)
        assert.strictEqual(cacheBucket("+Inf"), 2)
      }).pipe(isolated)
  )

  it.effect("reports counters cumulatively across scrapes, as Prometheus rate() expects", () =>
    Effect.gen(function* () {
      yield* recordTraffic
      const first = yield* scrape
      yield* recordTraffic
      const second = yield* scrape

      assert.strictEqual(PromText.valueOf(first, "cache_misses_total"), 1)
      assert.strictEqual(PromText.valueOf(second, "cache_misses_total"), 2)
      assert.strictEqual(
        PromText.valueOf(second, "db_query_duration_seconds_count", { operation: "findOrder" }),
        2
      )
      // A gauge is the last value set, not a sum.
      assert.strictEqual(PromText.valueOf(second, "cache_entries"), 42)
    }).pipe(isolated)
  )
})
