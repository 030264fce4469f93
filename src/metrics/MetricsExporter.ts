/**
 * What `GET /metrics` serves: the Prometheus text exposition of every metric in
 * `metrics.ts`, scraped on the service's own HTTP port.
 */
import { Context, Effect, Layer } from "effect"
import * as PrometheusMetrics from "effect/observability/PrometheusMetrics"

export interface MetricsExporterShape {
  /** The current metrics in Prometheus text format (version 0.0.4). */
  readonly scrape: Effect.Effect<string>
}

export class MetricsExporter extends Context.Service<MetricsExporter, MetricsExporterShape>()(
  "order-service/MetricsExporter"
) {
  // TODO(issue 5): replace with the OpenTelemetry bridge and Prometheus exporter the design
  // asks for; Effect's own formatter stands in so that /metrics works meanwhile.
  static readonly layer = Layer.succeed(
    MetricsExporter,
    MetricsExporter.of({ scrape: PrometheusMetrics.format() })
  )
}
