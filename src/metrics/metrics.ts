/**
 * Every metric of order-service, in one place. Names are what Prometheus shows, except that
 * counters leave off `_total`: the Prometheus serializer appends it to monotonic counters.
 * Labels stay of bounded cardinality (routes as templates, partitions of known topics).
 */
import { Duration, Effect, Metric } from "effect"

const counter = (name: string, description: string) =>
  Metric.counter(name, { description, incremental: true })

/** Cache operations take microseconds; HTTP and the DB take milliseconds to seconds. */
export const cacheSeconds: ReadonlyArray<number> = [
  0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.001, 0.01
]
/** From 100 µs: a lookup answered from the cache takes about 0.2 ms. */
export const requestSeconds: ReadonlyArray<number> = [
  0.000_1, 0.000_25, 0.000_5, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
]
/** From produce time to a durable outcome: includes queueing in Kafka, so up to minutes. */
export const processingSeconds: ReadonlyArray<number> = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300
]

export const httpRequests = counter("http_requests", "HTTP requests by method, route, status")
export const httpRequestDuration = Metric.histogram("http_request_duration_seconds", {
  description: "HTTP request duration by method, route, status",
  boundaries: requestSeconds
})

export const consumerMessages = counter(
  "consumer_messages",
  "Consumed messages by outcome: valid (stored), invalid (dead-lettered), error"
)
export const consumerProcessingLatency = Metric.histogram("consumer_processing_latency_seconds", {
  description: "From the message's produce time to its durable outcome",
  boundaries: processingSeconds
})
export const consumerLag = Metric.gauge("consumer_lag", {
  description: "Messages between the committed offset and the partition's high watermark"
})
export const consumerDlqMessages = counter(
  "consumer_dlq_messages",
  "Messages sent to the dead-letter topic, by reason"
)

export const cacheHits = counter("cache_hits", "Order lookups answered from the cache")
export const cacheMisses = counter("cache_misses", "Order lookups the cache could not answer")
export const cacheOperationDuration = Metric.histogram("cache_operation_duration_seconds", {
  description: "Cache get and set duration",
  boundaries: cacheSeconds
})
export const cacheEntries = Metric.gauge("cache_entries", {
  description: "Entries held in the order cache"
})

export const dbUp = Metric.gauge("db_up", { description: "1 when the database answers pings" })
export const dbQueryDuration = Metric.histogram("db_query_duration_seconds", {
  description: "Database operation duration by operation",
  boundaries: requestSeconds
})
export const dbTransientErrors = counter(
  "db_transient_errors",
  "Database operations that failed for a reason retrying can fix"
)

/** Records how long the wrapped effect took, in seconds, into a histogram. */
export const trackSeconds = (histogram: Metric.Metric<number, unknown>) =>
  Effect.trackDuration(histogram, Duration.toSeconds)
