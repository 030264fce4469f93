/**
 * The ingestion pipeline: every batch of the orders topic is decoded, stored, dead-lettered
 * where it must be, and committed only as far as its outcomes are durable.
 *
 * - Valid orders are stored in chunks of `INGEST_BATCH_SIZE`, one transaction each.
 * - Invalid messages, conflicting duplicates, orders the database refuses and unexpected
 *   failures go to the dead-letter topic; the DLQ acknowledgement is their durable outcome.
 * - A database that stays unavailable through the retries is never bad data: the topic is
 *   paused, the partition rewound to its first unfinished offset, and consumption resumes when
 *   HealthRef sees the database again.
 */
import { Cause, Context, Duration, Effect, Layer, Metric, Option, Schedule, Stream } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { Database } from "../db/Database.ts"
import { Cache } from "../cache/Cache.ts"
import { encodeOrderJson, makeOrderDecoder } from "../domain/decode.ts"
import type { DatabaseUnavailable } from "../domain/errors.ts"
import type { Order } from "../domain/Order.ts"
import { HealthRef } from "../health/HealthRef.ts"
import { Readiness } from "../http/Readiness.ts"
import {
  type ConsumedMessage,
  type DeadLetter,
  Kafka,
  type KafkaError,
  type PartitionBatch
} from "../kafka/Kafka.ts"
import * as Metrics from "../metrics/metrics.ts"
import { type DeadLetterReason, toDeadLetter } from "./DeadLetter.ts"
import { OffsetTracker } from "./OffsetTracker.ts"

/** A producer may stamp this header (epoch ms) to measure latency from its own clock. */
export const PRODUCED_AT_HEADER = "x-produced-at"

export interface ConsumerShape {
  /** Batches handled since start; tests and readiness read it. */
  readonly batchesHandled: Effect.Effect<number>
}

export class Consumer extends Context.Service<Consumer, ConsumerShape>()("order-service/Consumer") {
  /** Needs Kafka, Database, HealthRef and AppConfig; consumes until the layer is released. */
  static readonly layer = Layer.effect(Consumer, makeConsumer())
}

/** Why a batch stopped before all of its messages had an outcome. */
type Interruption =
  | { readonly _tag: "DatabaseDown"; readonly error: DatabaseUnavailable }
  | { readonly _tag: "DeadLetterFailed"; readonly error: KafkaError }

interface Pending {
  readonly message: ConsumedMessage
  readonly reason: DeadLetterReason
  readonly error: string
}

function makeConsumer() {
  return Effect.gen(function* () {
    const config = yield* AppConfig
    const kafka = yield* Kafka
    const db = yield* Database
    const health = yield* HealthRef
    const decoder = makeOrderDecoder(config.ingest.maxItems)
    // Optional: the consumer also runs without the HTTP side (in tests, or a worker replica).
    const cache = config.cache.fillOnInsert ? yield* Effect.serviceOption(Cache) : Option.none()
    const readiness = yield* Effect.serviceOption(Readiness)
    const topic = config.kafka.topic
    let batchesHandled = 0

    /** Transient DB errors: exponential from `DB_RETRY_BASE_DELAY`, jittered. */
    const storeRetry = Schedule.exponential(config.ingest.retryBaseDelay).pipe(Schedule.jittered)
    /** How often `consumer_lag` is refreshed from the broker. */
    const lagRefresh = Schedule.spaced(Duration.seconds(5))
    /** A DLQ send kafkajs already retried; a few slower tries before giving the batch back. */
    const deadLetterRetry = Schedule.exponential(Duration.millis(500)).pipe(Schedule.jittered)

    /** Partitions this member has reported lag for (see the lag refresh below). */
    const reported = new Set<number>()
    const lagGauge = (partition: number) =>
      Metrics.consumerLag.pipe(Metric.withAttributes({ topic, partition: String(partition) }))

    const recordOutcome = (message: ConsumedMessage, status: "valid" | "invalid" | "error") =>
      Effect.gen(function* () {
        yield* Metric.update(Metrics.consumerMessages.pipe(Metric.withAttributes({ status })), 1)
        const producedAt = Number(headerText(message, PRODUCED_AT_HEADER) ?? message.timestamp)
        if (Number.isFinite(producedAt) && producedAt > 0) {
          const seconds = Math.max(0, Date.now() - producedAt) / 1000
          yield* Metric.update(Metrics.consumerProcessingLatency, seconds)
        }
      })

    const handleBatch = (batch: PartitionBatch) =>
      Effect.gen(function* () {
        const first = batch.messages[0]
        if (first === undefined) return
        if ((yield* health.get)._tag === "Down") {
          // Assigned or fetched while the database is away: hand it back untouched.
          yield* kafka.pauseTopic
          yield* kafka.seek(batch.partition, first.offset)
          return
        }
        const source = { topic: batch.topic, partition: batch.partition }
        const tracker = new OffsetTracker()
        for (const message of batch.messages) tracker.track(BigInt(message.offset))

        const sendDeadLetters = (pending: ReadonlyArray<Pending>) =>
          Effect.gen(function* () {
            if (pending.length === 0) return
            const letters: Array<DeadLetter> = pending.map((p) =>
              toDeadLetter(source, p.message, p.reason, p.error)
            )
            yield* kafka.sendDeadLetters(letters).pipe(
              Effect.tapError((error) =>
                Effect.logWarning("dead-letter send failed, retrying").pipe(
                  Effect.annotateLogs({ error: error.message })
                )
              ),
              Effect.retry({ schedule: deadLetterRetry, times: 3 })
            )
            for (const p of pending) {
              tracker.complete(BigInt(p.message.offset))
              yield* Metric.update(
                Metrics.consumerDlqMessages.pipe(Metric.withAttributes({ reason: p.reason })),
                1
              )
              yield* recordOutcome(p.message, p.reason === "unhandled" ? "error" : "invalid")
              yield* Effect.logInfo("message dead-lettered").pipe(
                Effect.annotateLogs({ offset: p.message.offset, reason: p.reason, error: p.error })
              )
            }
          }).pipe(Effect.mapError((error): Interruption => ({ _tag: "DeadLetterFailed", error })))

        const decoded = yield* Effect.forEach(batch.messages, (message) =>
          decoder.fromBytes(message.value).pipe(
            Effect.result,
            Effect.map((result) => ({ message, result }))
          )
        )
        const invalid: Array<Pending> = []
        const valid: Array<{ readonly message: ConsumedMessage; readonly order: Order }> = []
        for (const { message, result } of decoded) {
          if (result._tag === "Success") valid.push({ message, order: result.success })
          else invalid.push({ message, reason: "invalid", error: result.failure.message })
        }

        const storeChunk = (chunk: ReadonlyArray<(typeof valid)[number]>) =>
          Effect.gen(function* () {
            const outcomes = yield* db.insertOrders(chunk.map((entry) => entry.order)).pipe(
              Effect.tapError((error) =>
                Effect.logWarning("database unavailable, retrying batch").pipe(
                  Effect.annotateLogs({ error: error.detail, orders: chunk.length })
                )
              ),
              Effect.retry({ schedule: storeRetry, times: config.ingest.retryAttempts }),
              Effect.mapError((error): Interruption => ({ _tag: "DatabaseDown", error })),
              // The failure boundary: a defect (a bug) dead-letters this chunk, never the fiber.
              Effect.catchDefect((defect) => Effect.succeed(describeDefect(defect)))
            )
            if (typeof outcomes === "string") {
              return yield* sendDeadLetters(
                chunk.map(({ message }) => ({ message, reason: "unhandled", error: outcomes }))
              )
            }
            const rejected: Array<Pending> = []
            for (const [i, outcome] of outcomes.entries()) {
              const { message, order } = chunk[i]!
              if (outcome._tag === "Rejected") {
                rejected.push({
                  message,
                  reason: reasonOf(outcome.error),
                  error: outcome.error.message
                })
                continue
              }
              tracker.complete(BigInt(message.offset))
              yield* recordOutcome(message, "valid")
              if (outcome._tag === "Inserted" && Option.isSome(cache)) {
                yield* cache.value.set(order.order_uid, encodeOrderJson(order))
              }
              yield* Effect.logDebug("order stored").pipe(
                Effect.annotateLogs({
                  offset: message.offset,
                  order_uid: order.order_uid,
                  outcome: outcome._tag
                })
              )
            }
            yield* sendDeadLetters(rejected)
          })

        const chunks = chunksOf(valid, config.ingest.batchSize)
        // Invalid messages need nothing from the database: their DLQ sends overlap the stores.
        const [dlqExit, storeExit] = yield* Effect.all(
          [
            Effect.exit(sendDeadLetters(invalid)),
            Effect.exit(Effect.forEach(chunks, storeChunk, { discard: true }))
          ],
          { concurrency: 2 }
        )

        const point = tracker.commitPoint()
        if (point !== undefined) {
          const committed = yield* kafka.commit(batch.partition, String(point))
          if (!committed) {
            yield* Effect.logWarning("partition revoked, commit left to its new owner")
          } else {
            // Exact as of this commit; the scheduled refresh covers the paused stretches.
            const behind = BigInt(batch.highWatermark) - point
            reported.add(batch.partition)
            yield* Metric.update(lagGauge(batch.partition), Number(behind > 0n ? behind : 0n))
          }
        }

        const unfinished = tracker.firstUnfinished()
        if (unfinished === undefined) {
          yield* batch.resolveOffset(batch.messages.at(-1)!.offset)
          return
        }
        // Some outcome is not durable: replay from the first unfinished offset.
        yield* kafka.seek(batch.partition, String(unfinished))
        const failed = [storeExit, dlqExit].find((exit) => exit._tag === "Failure")
        const interruption =
          failed?._tag === "Failure"
            ? Option.getOrUndefined(Cause.findErrorOption(failed.cause))
            : undefined
        if (interruption === undefined) {
          yield* Effect.logError("batch failed, partition rewound").pipe(
            Effect.annotateLogs({
              rewoundTo: String(unfinished),
              cause: failed?._tag === "Failure" ? Cause.pretty(failed.cause) : "unknown"
            })
          )
        } else if (interruption._tag === "DatabaseDown") {
          yield* health.markDown(interruption.error.detail)
          yield* kafka.pauseTopic
          yield* Effect.logWarning("database down, partition paused and rewound").pipe(
            Effect.annotateLogs({ rewoundTo: String(unfinished) })
          )
        } else {
          yield* Effect.logError("dead-letter topic unavailable, partition rewound").pipe(
            Effect.annotateLogs({
              rewoundTo: String(unfinished),
              error: interruption.error.message
            })
          )
        }
      }).pipe(
        Effect.ensuring(Effect.sync(() => batchesHandled++)),
        Effect.scoped,
        Effect.annotateLogs({ topic: batch.topic, partition: batch.partition }),
        Effect.withSpan("Consumer.handleBatch", {
          attributes: { topic: batch.topic, partition: batch.partition }
        })
      )

    /** Keeps the membership alive while a batch waits on the database. */
    const withHeartbeat = (batch: PartitionBatch) =>
      batch.heartbeat.pipe(
        Effect.catch((error) =>
          Effect.logDebug("heartbeat refused").pipe(Effect.annotateLogs({ error: error.message }))
        ),
        Effect.repeat(Schedule.spaced(Duration.seconds(1))),
        Effect.forkScoped
      )

    /** The failure boundary of a whole batch: whatever happens, the consumer fiber goes on. */
    const handleSafely = (batch: PartitionBatch) =>
      Effect.gen(function* () {
        yield* withHeartbeat(batch)
        yield* handleBatch(batch)
      }).pipe(
        Effect.scoped,
        Effect.catchCause((cause) =>
          Effect.gen(function* () {
            yield* Effect.logError("batch failed, partition rewound").pipe(
              Effect.annotateLogs({
                topic: batch.topic,
                partition: batch.partition,
                cause: Cause.pretty(cause)
              })
            )
            const first = batch.messages[0]
            if (first !== undefined) yield* kafka.seek(batch.partition, first.offset)
          })
        ),
        // Batches run on the Kafka client's callbacks; say whose logs these are.
        Effect.annotateLogs({ service: "Consumer" })
      )

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
    yield* kafka.consume(handleSafely)
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

    return Consumer.of({ batchesHandled: Effect.sync(() => batchesHandled) })
  }).pipe(Effect.annotateLogs({ service: "Consumer" }))
}

const reasonOf = (error: { readonly _tag: string }): DeadLetterReason =>
  error._tag === "OrderAlreadyExists"
    ? "already_exists"
    : error._tag === "InvalidOrder"
      ? "invalid"
      : "unhandled"

const describeDefect = (defect: unknown): string =>
  `unexpected failure: ${defect instanceof Error ? defect.message : String(defect)}`
const headerText = (message: ConsumedMessage, name: string): string | undefined => {
  const value = message.headers[name]
  const first = Array.isArray(value) ? value[0] : value
  return first === undefined ? undefined : first.toString()
}

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const chunks: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size))
  return chunks
}
