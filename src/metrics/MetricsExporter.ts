/**
 * What `GET /metrics` serves: the Prometheus text exposition of every metric in
 * `metrics.ts`, scraped on the service's own HTTP port.
 *
 * Effect's metrics reach Prometheus through OpenTelemetry: `@effect/opentelemetry` turns the
 * Effect metric registry into an OTel metric producer, bound to a `PrometheusExporter` that
 * starts no server of its own; a scrape asks that reader to collect and serializes the result.
 */
import * as OtelMetrics from "@effect/opentelemetry/OtelMetrics"
import * as OtelResource from "@effect/opentelemetry/Resource"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import type { MetricData, ResourceMetrics } from "@opentelemetry/sdk-metrics"
import { Context, Effect, Layer } from "effect"

export interface MetricsExporterShape {
  /** The current metrics in Prometheus text format (version 0.0.4). */
  readonly scrape: Effect.Effect<string>
}

export class MetricsExporter extends Context.Service<MetricsExporter, MetricsExporterShape>()(
  "order-service/MetricsExporter"
) {
  /** Reads the metric registry of the context it is built in; stops with its scope. */
  static readonly layer = Layer.effect(MetricsExporter, makeExporter()).pipe(
    Layer.provide(OtelResource.layer({ serviceName: "order-service" }))
  )
}

function makeExporter() {
  return Effect.gen(function* () {
    const reader = new PrometheusExporter({ preventServerStart: true })
    const producer = yield* OtelMetrics.makeProducer()
    yield* OtelMetrics.registerProducer(producer, () => reader)

    // Prometheus adds `job` and `instance` itself, so the OTel scope label on every series and
    // the `target_info` series would only be noise on the dashboard.
    const serializer = new PrometheusSerializer("", false, undefined, true, true)

    const scrape = Effect.gen(function* () {
      const { resourceMetrics, errors } = yield* Effect.promise(() => reader.collect())
      if (errors.length > 0) {
        // What was collected is still served: a partial scrape beats none.
        yield* Effect.logWarning("metrics collection reported errors").pipe(
          Effect.annotateLogs({ errors: errors.map(String) })
        )
      }
      return serializer.serialize(withUnitsFromNames(resourceMetrics))
    })

    return MetricsExporter.of({ scrape })
  }).pipe(Effect.annotateLogs({ service: "MetricsExporter" }))
}

/**
 * The bridge gives every instrument the unit `1`, which would print `# UNIT ... 1` for
 * durations too. Our names already end in their unit (`_seconds`), so the unit is read back
 * from the name, and left empty (no `# UNIT` line) for counts and gauges.
 */
function withUnitsFromNames(resourceMetrics: ResourceMetrics): ResourceMetrics {
  const withUnit = (metric: MetricData): MetricData => ({
    ...metric,
    descriptor: {
      ...metric.descriptor,
      unit: metric.descriptor.name.endsWith("_seconds") ? "seconds" : ""
    }
  })
  return {
    resource: resourceMetrics.resource,
    scopeMetrics: resourceMetrics.scopeMetrics.map((scope) => ({
      ...scope,
      metrics: scope.metrics.map(withUnit)
    }))
  }
}
