/**
 * One batch of one partition, from fetched bytes to a commit: decode, store valid orders in
 * chunks of `INGEST_BATCH_SIZE` (retrying a database that is briefly away), dead-letter the
 * rest, commit the durable prefix, and rewind to the first unfinished message when something
 * could not be finished. Every path ends in a commit, a rewind, or both; none ends the fiber.
 */
import { Cause, Duration, Effect, Metric, Option, Schedule } from "effect"
import type { AppConfigShape } from "../config/AppConfig.ts"
import type { CacheShape } from "../cache/Cache.ts"
import type { DatabaseShape } from "../db/Database.ts"
import { encodeOrderJson, makeOrderDecoder } from "../domain/decode.ts"
import type { DatabaseUnavailable } from "../domain/errors.ts"
import type { Order } from "../domain/Order.ts"
import type { HealthRefShape } from "../health/HealthRef.ts"
import type {
  ConsumedMessage,
  DeadLetter,
  KafkaError,
  KafkaShape,
  PartitionBatch
} from "../kafka/Kafka.ts"
import * as Metrics from "../metrics/metrics.ts"
import { type DeadLetterReason, toDeadLetter } from "./DeadLetter.ts"
import { OffsetTracker } from "./OffsetTracker.ts"

/** A producer may stamp this header (epoch ms) to measure latency from its own clock. */
export const PRODUCED_AT_HEADER = "x-produced-at"

export interface BatchHandlerDeps {
  readonly config: AppConfigShape
  readonly kafka: KafkaShape
  readonly db: DatabaseShape
  readonly health: HealthRefShape
  /** Filled with each newly stored order, when configured. */
  readonly cache: Option.Option<CacheShape>
  /** Told how far behind a partition is after each commit. */
  readonly reportLag: (partition: number, behind: number) => Effect.Effect<void>
}

/** Why a batch stopped before all of its messages had an outcome. */
type Interruption =
  | { readonly _tag: "DatabaseDown"; readonly error: DatabaseUnavailable }
  | { readonly _tag: "DeadLetterFailed"; readonly error: KafkaError }

interface Pending {
  readonly message: ConsumedMessage
  readonly reason: DeadLetterReason
  readonly error: string
  /** Known when the message decoded as an order (a conflict, a refusal by the database). */
  readonly orderUid?: string
}

/** The handler `Kafka.consume` runs for each batch; it never fails, whatever the batch holds. */
export const makeBatchHandler = ({
  config,
  kafka,
  db,
  health,
  cache,
  reportLag
}: BatchHandlerDeps) => {
  const decoder = makeOrderDecoder(config.ingest.maxItems)

  /** Transient DB errors: exponential from `DB_RETRY_BASE_DELAY`, jittered. */
  const storeRetry = Schedule.exponential(config.ingest.retryBaseDelay).pipe(Schedule.jittered)
  /** A DLQ send kafkajs already retried; a few slower tries before giving the batch back. */
  const deadLetterRetry = Schedule.exponential(Duration.millis(500)).pipe(Schedule.jittered)

  const recordOutcome = (message: ConsumedMessage, status: "valid" | "invalid" | "error") =>
    Effect.gen(function* () {
      yield* Metric.update(Metrics.consumerMessages.pipe(Metric.withAttributes({ status })), 1)
      const producedAt = Number(headerText(message, PRODUCED_AT_HEADER) ?? message.timestamp)
      if (Number.isFinite(producedAt) && producedAt > 0) {
        const seconds = Math.max(0, Date.now() - producedAt) / 1000
        yield* Metric.update(Metrics.consumerProcessingLatency, seconds)
      }
    })

  /**
   * Offsets whose dead letter is already acknowledged but not yet committed past, per
   * partition. A replay after a rewind then does not send them again. Safe whoever owns the
   * partition meanwhile: an acknowledged letter stays in the DLQ. Trimmed on every commit.
   */
  const deadLettered = new Map<number, Set<bigint>>()
  const deadLetteredIn = (partition: number) => {
    let offsets = deadLettered.get(partition)
    if (offsets === undefined) deadLettered.set(partition, (offsets = new Set()))
    return offsets
  }

  /** Retrying is worth it while the partition is still ours and the database is not known down. */
  const worthRetrying = (partition: number) =>
    Effect.gen(function* () {
      if (!(yield* kafka.stillOwns(partition))) return false
      return (yield* health.get)._tag === "Up"
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

      const alreadySent = deadLetteredIn(batch.partition)
      const sendDeadLetters = (all: ReadonlyArray<Pending>) =>
        Effect.gen(function* () {
          for (const p of all) {
            const offset = BigInt(p.message.offset)
            if (alreadySent.has(offset)) tracker.complete(offset)
          }
          const pending = all.filter((p) => !alreadySent.has(BigInt(p.message.offset)))
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
            Effect.retry({
              schedule: deadLetterRetry,
              times: 3,
              while: () => kafka.stillOwns(batch.partition)
            })
          )
          for (const p of pending) {
            alreadySent.add(BigInt(p.message.offset))
            tracker.complete(BigInt(p.message.offset))
            yield* Metric.update(
              Metrics.consumerDlqMessages.pipe(Metric.withAttributes({ reason: p.reason })),
              1
            )
            yield* recordOutcome(p.message, p.reason === "unhandled" ? "error" : "invalid")
            yield* Effect.logInfo("message dead-lettered").pipe(
              Effect.annotateLogs({
                offset: p.message.offset,
                order_uid: p.orderUid ?? "(not decoded)",
                reason: p.reason,
                error: p.error
              })
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
            Effect.retry({
              schedule: storeRetry,
              times: config.ingest.retryAttempts,
              // The pinger may have seen the outage first, or the partition may have moved on.
              while: () => worthRetrying(batch.partition)
            }),
            Effect.mapError((error): Interruption => ({ _tag: "DatabaseDown", error })),
            // The failure boundary: a defect (a bug) dead-letters this chunk, never the fiber.
            Effect.catchDefect((defect) => Effect.succeed(describeDefect(defect)))
          )
          if (typeof outcomes === "string") {
            return yield* sendDeadLetters(
              chunk.map(({ message, order }) => ({
                message,
                reason: "unhandled",
                error: outcomes,
                orderUid: order.order_uid
              }))
            )
          }
          const rejected: Array<Pending> = []
          for (const [i, outcome] of outcomes.entries()) {
            const { message, order } = chunk[i]!
            if (outcome._tag === "Rejected") {
              rejected.push({
                message,
                reason: reasonOf(outcome.error),
                error: outcome.error.message,
                orderUid: order.order_uid
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
        // A failed commit loses nothing: the next one covers these offsets too.
        const commit = yield* kafka.commit(batch.partition, String(point)).pipe(
          Effect.map((accepted) => (accepted ? "committed" : "revoked")),
          Effect.catch((error) =>
            Effect.logWarning("commit failed, the next one covers it").pipe(
              Effect.annotateLogs({ error: error.message }),
              Effect.as("failed" as const)
            )
          )
        )
        if (commit === "revoked") {
          yield* Effect.logWarning("partition revoked, commit left to its new owner")
        } else if (commit === "committed") {
          for (const offset of alreadySent) if (offset < point) alreadySent.delete(offset)
          // Exact as of this commit; the scheduled refresh covers the paused stretches.
          const behind = BigInt(batch.highWatermark) - point
          yield* reportLag(batch.partition, Number(behind > 0n ? behind : 0n))
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

  return handleSafely
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
  // kafkajs gives a header sent without a value as null, whatever its type says.
  return first == null ? undefined : first.toString()
}

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const chunks: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size))
  return chunks
}
