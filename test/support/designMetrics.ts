/**
 * The metrics the design promises operators, as Prometheus shows them: the family name, its
 * type, and the labels every series carries (at least). Tests check the exporter, the
 * dashboard and the running service against this list, so it is written from the design,
 * not from the code.
 */

export interface DesignMetric {
  readonly name: string
  readonly type: "counter" | "gauge" | "histogram"
  readonly labels: ReadonlyArray<string>
}

export const designMetrics: ReadonlyArray<DesignMetric> = [
  { name: "http_requests_total", type: "counter", labels: ["method", "route", "status"] },
  { name: "http_request_duration_seconds", type: "histogram", labels: ["method", "route"] },
  { name: "consumer_messages_total", type: "counter", labels: ["status"] },
  { name: "consumer_processing_latency_seconds", type: "histogram", labels: [] },
  { name: "consumer_lag", type: "gauge", labels: ["topic", "partition"] },
  { name: "consumer_dlq_messages_total", type: "counter", labels: ["reason"] },
  { name: "cache_hits_total", type: "counter", labels: [] },
  { name: "cache_misses_total", type: "counter", labels: [] },
  { name: "cache_operation_duration_seconds", type: "histogram", labels: ["operation"] },
  { name: "cache_entries", type: "gauge", labels: [] },
  { name: "db_up", type: "gauge", labels: [] },
  { name: "db_query_duration_seconds", type: "histogram", labels: ["operation"] },
  { name: "db_transient_errors_total", type: "counter", labels: [] }
]

/** The series names a family shows in the exposition (histograms split in three). */
export const seriesNames = (metric: DesignMetric): ReadonlyArray<string> =>
  metric.type === "histogram"
    ? [`${metric.name}_bucket`, `${metric.name}_sum`, `${metric.name}_count`]
    : [metric.name]
