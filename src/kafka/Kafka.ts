/**
 * order-service's only door to Kafka (kafkajs): topic creation, the consumer and its offset
 * commits, pause/resume/seek, and the dead-letter producer. Nothing above this module knows
 * kafkajs types.
 */
import { Context, Deferred, Effect, Exit, Layer, Schema, type Scope } from "effect"
import {
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka as KafkaClient,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer
} from "kafkajs"
import { AppConfig } from "../config/AppConfig.ts"

/** A broker call failed; kafkajs says whether retrying can help. */
export class KafkaError extends Schema.TaggedError<KafkaError>()("KafkaError", {
  operation: Schema.String,
  detail: Schema.String,
  retriable: Schema.Boolean
}) {
  override get message() {
    return `kafka ${this.operation} failed: ${this.detail}`
  }
}

export interface ConsumedMessage {
  readonly offset: string
  readonly key: Buffer | null
  readonly value: Buffer | null
  /** Produce (or log-append) time, epoch milliseconds. */
  readonly timestamp: number
  readonly headers: Readonly<Record<string, Buffer | string | ReadonlyArray<Buffer | string>>>
}

/** One fetch's worth of messages of one partition, in offset order. */
export interface PartitionBatch {
  readonly topic: string
  readonly partition: number
  readonly highWatermark: string
  readonly messages: ReadonlyArray<ConsumedMessage>
  /** Keeps the group membership alive during long work; a no-op if sent recently. */
  readonly heartbeat: Effect.Effect<void, KafkaError>
  /** Tells the client that everything up to `offset` is handled (next fetch starts after). */
  readonly resolveOffset: (offset: string) => Effect.Effect<void>
}

export interface DeadLetter {
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Readonly<Record<string, Buffer | string | ReadonlyArray<Buffer | string>>>
}

export interface KafkaShape {
  /** Creates the orders and dead-letter topics when missing (if configured to). */
  readonly ensureTopics: Effect.Effect<void, KafkaError>
  /**
   * Joins the group and runs `handle` for each batch until the scope closes. Batches of one
   * partition come one after another (the next only after `handle` returns); partitions run
   * concurrently. Closing the scope stops fetching and waits for the batches in flight.
   */
  readonly consume: (
    handle: (batch: PartitionBatch) => Effect.Effect<void>
  ) => Effect.Effect<void, KafkaError, Scope.Scope>
  readonly pauseTopic: Effect.Effect<void>
  readonly resumeTopic: Effect.Effect<void>
  /** Where the next fetch of `partition` starts. */
  readonly seek: (partition: number, offset: string) => Effect.Effect<void>
  /**
   * Commits `offset` (the next offset to read) for `partition` — refused, as `false`, when the
   * partition is not assigned to this member any more: its new owner redelivers instead.
   */
  readonly commit: (partition: number, offset: string) => Effect.Effect<boolean, KafkaError>
  /**
   * Messages between the group's committed offset and the end of each partition this member
   * owns, asked of the broker (so it keeps moving while consumption is paused).
   */
  readonly lag: Effect.Effect<ReadonlyMap<number, number>, KafkaError>
  /** Completes, with the reason, if the consumer crashes for good (kafkajs will not restart it). */
  readonly crashed: Effect.Effect<string>
  /**
   * Whether work on `partition` is still worth finishing here: false once a rebalance took it
   * away or shutdown began. Retry loops check it, so a batch waiting on the database gives
   * its partition back instead of holding up a rebalance or a shutdown.
   */
  readonly stillOwns: (partition: number) => Effect.Effect<boolean>
  /** How many times this member has joined its group: 1 after start, +1 per rebalance. */
  readonly groupJoins: Effect.Effect<number>
  /** Sends to the dead-letter topic and waits for every in-sync replica to have it. */
  readonly sendDeadLetters: (letters: ReadonlyArray<DeadLetter>) => Effect.Effect<void, KafkaError>
}

const toKafkaError = (operation: string) => (error: unknown) =>
  new KafkaError({
    operation,
    detail: error instanceof Error ? error.message : String(error),
    retriable:
      typeof error === "object" &&
      error !== null &&
      (error as { retriable?: unknown }).retriable === true
  })

const attempt = <A>(operation: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: toKafkaError(operation) })

export class Kafka extends Context.Service<Kafka, KafkaShape>()("order-service/Kafka") {
  static readonly layer = Layer.effect(Kafka, makeKafka())
}

function makeKafka() {
  return Effect.gen(function* () {
    const { kafka: settings } = yield* AppConfig
    const context = yield* Effect.context<never>()
    const client = new KafkaClient({
      clientId: settings.clientId,
      brokers: [...settings.brokers],
      logCreator: effectLogCreator(context),
      retry: { initialRetryTime: 200, retries: 8 }
    })
    const topic = settings.topic

    const producer: Producer = client.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      // Bounded, so that a send we stopped waiting for (`KAFKA_DLQ_SEND_TIMEOUT`) also stops
      // retrying by itself instead of piling up behind the next ones. kafkajs warns that this
      // weakens idempotence; dead-lettering is at-least-once anyway (see the log creator).
      retry: { retries: 3, maxRetryTime: 5_000 }
    })
    yield* Effect.acquireRelease(
      attempt("producer.connect", () => producer.connect()),
      () => Effect.promise(() => producer.disconnect())
    )

    const consumer: Consumer = client.consumer({
      groupId: settings.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: settings.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(settings.sessionTimeoutMs / 10)),
      maxWaitTimeInMs: settings.maxWaitMs
    })

    // Partitions this member owns now. Emptied when a rebalance starts (anything may be
    // revoked), filled when the group settles; `commit` consults it.
    let assigned = new Set<number>()
    let groupJoins = 0
    const crashed = yield* Deferred.make<string>()
    consumer.on(consumer.events.CRASH, (event) => {
      // A crashed consumer has left its group; whatever it owned is no longer its to commit.
      assigned = new Set()
      if (event.payload.restart) return
      Effect.runForkWith(context)(Deferred.succeed(crashed, event.payload.error.message))
    })
    consumer.on(consumer.events.REBALANCING, () => {
      assigned = new Set()
    })
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      assigned = new Set(event.payload.memberAssignment[topic] ?? [])
      groupJoins++
      applyPause()
      Effect.runForkWith(context)(
        Effect.logInfo("partitions assigned").pipe(
          Effect.annotateLogs({ topic, partitions: [...assigned].sort((a, b) => a - b) })
        )
      )
    })

    /**
     * Calls into kafkajs that throw while its consumer group is being (re)built: before `run`,
     * and while kafkajs restarts a crashed consumer. What they were for is re-applied when
     * the group is joined again, so a throw here is logged, not raised.
     */
    const safely = (operation: string, call: () => void) => {
      try {
        call()
      } catch (error) {
        Effect.runForkWith(context)(
          Effect.logDebug("kafka call deferred until the group is joined").pipe(
            Effect.annotateLogs({ operation, error: String(error) })
          )
        )
      }
    }

    // A pause asked for before `run` or during a restart (the database is down) is remembered
    // and applied once the consumer runs and again on every group join: kafkajs forgets it
    // when it rebuilds the group. A topic-wide pause also covers partitions assigned later.
    let wantPaused = false
    let stopping = false
    const applyPause = () => {
      if (wantPaused || stopping) safely("pause", () => consumer.pause([{ topic }]))
      else safely("resume", () => consumer.resume([{ topic }]))
    }
    // A seek that cannot be made (kafkajs is rebuilding the group) is not needed: the group
    // then resumes from the committed offset, which is never past an unfinished message.
    const seekTo = (partition: number, offset: string) =>
      safely("seek", () => consumer.seek({ topic, partition, offset }))
    const batches = makeInFlight()

    // One admin connection for topic creation and the lag figures.
    const admin = client.admin()
    yield* Effect.acquireRelease(
      attempt("admin.connect", () => admin.connect()),
      () => Effect.promise(() => admin.disconnect())
    )

    const ensureTopics = Effect.gen(function* () {
      if (!settings.createTopics) return
      const existing = new Set(yield* attempt("admin.listTopics", () => admin.listTopics()))
      const missing = [topic, settings.dlqTopic].filter((name) => !existing.has(name))
      if (missing.length === 0) return
      yield* attempt("admin.createTopics", () =>
        admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((name) => ({ topic: name, numPartitions: settings.topicPartitions }))
        })
      )
      yield* Effect.logInfo("topics created").pipe(Effect.annotateLogs({ topics: missing }))
    })

    const consume = (handle: (batch: PartitionBatch) => Effect.Effect<void>) =>
      Effect.gen(function* () {
        yield* Effect.acquireRelease(
          attempt("consumer.connect", async () => {
            await consumer.connect()
            await consumer.subscribe({ topics: [topic], fromBeginning: true })
          }),
          // kafkajs ignores commits once `disconnect` has begun, so the batches in flight must
          // finish (and commit) first: stop fetching, wait for them, then leave the group.
          () =>
            Effect.gen(function* () {
              stopping = true
              applyPause()
              yield* Effect.promise(() => batches.idle()).pipe(
                Effect.timeoutOrElse({
                  duration: settings.shutdownDrainTimeout,
                  orElse: () => Effect.logWarning("batches still in flight at shutdown")
                })
              )
              yield* Effect.promise(() => consumer.disconnect())
            })
        )
        const run = (payload: EachBatchPayload) => {
          const batch = toPartitionBatch(payload)
          const first = batch.messages[0]
          if (stopping) {
            // Fetched before the pause took effect: leave it for whoever consumes next.
            if (first !== undefined) seekTo(batch.partition, first.offset)
            return Promise.resolve()
          }
          // Each batch runs as its own fiber, not a child of this scope: on shutdown it must
          // be allowed to finish and commit while the release above waits for it.
          return batches.track(Effect.runPromiseWith(context)(handle(batch)))
        }
        yield* attempt("consumer.run", () => {
          const started = consumer.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: settings.partitionConcurrency,
            eachBatch: run
          })
          // From here on kafkajs accepts pause/resume; apply what was asked before.
          applyPause()
          return started
        })
      })

    const lag = Effect.gen(function* () {
      const owned = [...assigned]
      if (owned.length === 0) return new Map<number, number>()
      const [ends, committed] = yield* Effect.all(
        [
          attempt("admin.fetchTopicOffsets", () => admin.fetchTopicOffsets(topic)),
          attempt("admin.fetchOffsets", () =>
            admin.fetchOffsets({ groupId: settings.groupId, topics: [topic] })
          )
        ],
        { concurrency: 2 }
      )
      const endOf = new Map(ends.map((entry) => [entry.partition, BigInt(entry.high)]))
      const committedOf = new Map(
        (committed[0]?.partitions ?? []).map((entry) => [entry.partition, BigInt(entry.offset)])
      )
      return new Map(
        owned.map((partition) => {
          const end = endOf.get(partition) ?? 0n
          const done = committedOf.get(partition) ?? -1n
          // Nothing committed yet: everything since the start of the log is behind.
          const behind = done < 0n ? end : end - done
          return [partition, Number(behind > 0n ? behind : 0n)] as const
        })
      )
    })

    const seek = (partition: number, offset: string) => Effect.sync(() => seekTo(partition, offset))

    const commit = (partition: number, offset: string) =>
      Effect.suspend(() =>
        assigned.has(partition)
          ? attempt("consumer.commitOffsets", () =>
              consumer.commitOffsets([{ topic, partition, offset }])
            ).pipe(Effect.as(true))
          : Effect.succeed(false)
      )

    const sendDeadLetters = (letters: ReadonlyArray<DeadLetter>) =>
      letters.length === 0
        ? Effect.void
        : attempt("producer.send", () =>
            producer.send({
              topic: settings.dlqTopic,
              acks: -1,
              messages: letters.map((letter) => ({
                key: letter.key,
                value: letter.value,
                headers: letter.headers as IHeaders
              }))
            })
          ).pipe(
            Effect.timeoutOrElse({
              duration: settings.dlqSendTimeout,
              orElse: () =>
                Effect.fail(
                  new KafkaError({
                    operation: "producer.send",
                    detail: "no acknowledgement in time",
                    retriable: true
                  })
                )
            }),
            Effect.asVoid
          )

    return Kafka.of({
      ensureTopics,
      consume,
      pauseTopic: Effect.sync(() => {
        wantPaused = true
        applyPause()
      }),
      resumeTopic: Effect.sync(() => {
        wantPaused = false
        applyPause()
      }),
      seek,
      commit,
      lag,
      crashed: Deferred.await(crashed),
      stillOwns: (partition) => Effect.sync(() => !stopping && assigned.has(partition)),
      groupJoins: Effect.sync(() => groupJoins),
      sendDeadLetters
    })
  }).pipe(Effect.annotateLogs({ service: "Kafka" }))
}

function toPartitionBatch(payload: EachBatchPayload): PartitionBatch {
  const { batch } = payload
  return {
    topic: batch.topic,
    partition: batch.partition,
    highWatermark: batch.highWatermark,
    messages: batch.messages.map((message) => ({
      offset: message.offset,
      key: message.key ?? null,
      value: message.value ?? null,
      timestamp: Number(message.timestamp),
      headers: (message.headers ?? {}) as ConsumedMessage["headers"]
    })),
    heartbeat: attempt("consumer.heartbeat", () => payload.heartbeat()),
    resolveOffset: (offset) => Effect.sync(() => payload.resolveOffset(offset))
  }
}

/** Warnings kafkajs gives for settings chosen on purpose (see the producer's `retry`). */
const EXPECTED_WARNINGS = new Set([
  "Limiting retries for the idempotent producer may invalidate EoS guarantees"
])

/** Counts the batches being handled and tells when none is left. */
function makeInFlight() {
  let count = 0
  let waiters: Array<() => void> = []
  return {
    track: (work: Promise<void>) => {
      count++
      return work.finally(() => {
        count--
        if (count === 0) {
          for (const wake of waiters) wake()
          waiters = []
        }
      })
    },
    idle: () =>
      count === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))
  }
}

/** kafkajs logs through Effect's logger, so they share format, level and annotations. */
function effectLogCreator(context: Context.Context<never>) {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, ...extra } = log
      const annotated = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(Effect.annotateLogs({ service: "kafkajs", namespace, ...extra }))
      // kafkajs logs every failed request as an error, even those it retries; the service
      // logs the outcomes that matter itself, so the client's own lines are warnings at most.
      const entry =
        level <= logLevel.WARN && !EXPECTED_WARNINGS.has(message)
          ? Effect.logWarning(message)
          : Effect.logDebug(message)
      Effect.runSyncExit(Effect.provideContext(annotated(entry), context)) satisfies Exit.Exit<void>
    }
}
