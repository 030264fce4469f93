/**
 * The ingestion service: joins the group and hands every batch to the batch handler, and
 * around it keeps the topic paused while the database is down, `consumer_lag` fresh, and
 * readiness honest. The delivery contract itself lives in `BatchHandler.ts`.
 */
import { Duration, Effect, Layer, Metric, Option, Schedule, Stream } from "effect"
import { Cache } from "../cache/Cache.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { Database } from "../db/Database.ts"
import { HealthRef } from "../health/HealthRef.ts"
import { Readiness } from "../http/Readiness.ts"
import { Kafka } from "../kafka/Kafka.ts"
import * as Metrics from "../metrics/metrics.ts"
import { makeBatchHandler } from "./BatchHandler.ts"

/**
 * Consumes until the layer is released. Needs Kafka, Database, HealthRef and AppConfig; uses
 * Cache (fill on insert) and Readiness when they are there.
 */
export const layer = Layer.effectDiscard(runConsumer())

function runConsumer() {
  return Effect.gen(function* () {
    const config = yield* AppConfig
    const kafka = yield* Kafka
    const db = yield* Database
    const health = yield* HealthRef
    // Optional: the consumer also runs without the HTTP side (in tests, or a worker replica).
    const cache = config.cache.fillOnInsert ? yield* Effect.serviceOption(Cache) : Option.none()
    const readiness = yield* Effect.serviceOption(Readiness)
    const topic = config.kafka.topic

    /** How often `consumer_lag` is refreshed from the broker. */
    const lagRefresh = Schedule.spaced(Duration.seconds(5))

    /** Partitions this member has reported lag for (see the lag refresh below). */
    const reported = new Set<number>()
    const lagGauge = (partition: number) =>
      Metrics.consumerLag.pipe(Metric.withAttributes({ topic, partition: String(partition) }))

    const handleBatch = makeBatchHandler({
      config,
      kafka,
      db,
      health,
      cache,
      reportLag: (partition: number, behind: number) => {
        reported.add(partition)
        return Metric.update(lagGauge(partition), behind)
      }
    })

    // Lag is asked of the broker on a schedule rather than computed per batch, so that it keeps
    // growing while consumption is paused. Partitions this member gave away are reported as 0,
    // so that max-by-partition across replicas shows only the owner's figure.
    yield* kafka.lag.pipe(
      Effect.flatMap((lags) =>
        Effect.gen(function* () {
          for (const partition of reported) {
            if (!lags.has(partition)) yield* Metric.update(lagGauge(partition), 0)
          }
          for (const [partition, behind] of lags) {
            reported.add(partition)
            yield* Metric.update(lagGauge(partition), behind)
          }
        })
      ),
      Effect.catch((error) =>
        Effect.logDebug("lag not refreshed").pipe(Effect.annotateLogs({ error: error.message }))
      ),
      Effect.repeat(lagRefresh),
      Effect.forkScoped
    )

    // Pause on the way down even when no batch is in flight; resume on the way up.
    yield* health.changes.pipe(
      Stream.drop(1),
      Stream.runForEach((state) =>
        state._tag === "Up"
          ? kafka.resumeTopic.pipe(Effect.andThen(Effect.logInfo("consumption resumed")))
          : kafka.pauseTopic.pipe(Effect.andThen(Effect.logWarning("consumption paused")))
      ),
      Effect.forkScoped
    )

    const component = Option.isSome(readiness)
      ? yield* readiness.value.register("consumer")
      : undefined
    yield* kafka.ensureTopics
    if ((yield* health.get)._tag === "Down") yield* kafka.pauseTopic
    yield* kafka.consume(handleBatch)
    if (component !== undefined) yield* component.ready
    yield* kafka.crashed.pipe(
      Effect.flatMap((reason) =>
        Effect.gen(function* () {
          yield* Effect.logError("consumer crashed and will not restart").pipe(
            Effect.annotateLogs({ reason })
          )
          if (component !== undefined) yield* component.notReady(`consumer crashed: ${reason}`)
        })
      ),
      Effect.forkScoped
    )
    yield* Effect.logInfo("consumer started").pipe(
      Effect.annotateLogs({ topic, group: config.kafka.groupId })
    )
  }).pipe(Effect.annotateLogs({ service: "Consumer" }))
}
