/**
 * Test access to the real broker: topics of its own per test, producing, reading a topic to
 * its end, and the group's committed offsets. Every wait polls with a deadline.
 */
import { Effect } from "effect"
import { type Admin, Kafka, logLevel, type Message, Partitioners } from "kafkajs"
import { uniqueName } from "./config.ts"

export const TEST_BROKERS = (process.env["TEST_KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",")

const client = new Kafka({
  clientId: "order-service-tests",
  brokers: TEST_BROKERS,
  logLevel: logLevel.ERROR
})

/** Names for one test's topics and group, and the env that points the service at them. */
export const freshKafkaNames = () => {
  const topic = uniqueName("orders")
  const dlqTopic = `${topic}-dlq`
  const groupId = uniqueName("group")
  return {
    topic,
    dlqTopic,
    groupId,
    env: {
      KAFKA_BROKERS: TEST_BROKERS.join(","),
      KAFKA_TOPIC: topic,
      KAFKA_DLQ_TOPIC: dlqTopic,
      KAFKA_GROUP_ID: groupId,
      KAFKA_MAX_WAIT: "100 millis"
    }
  } as const
}

const withAdmin = <A>(f: (admin: Admin) => Promise<A>) =>
  Effect.promise(async () => {
    const admin = client.admin()
    await admin.connect()
    try {
      return await f(admin)
    } finally {
      await admin.disconnect()
    }
  })

export const createTopics = (topics: ReadonlyArray<string>, numPartitions = 3) =>
  withAdmin((admin) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic, numPartitions }))
    })
  )

/**
 * Publishes with acks from all in-sync replicas. Not idempotent: tests need no producer id,
 * and a broker that has just started may keep the transaction coordinator loading for a
 * while. Bounded, so that a broker that does not answer fails the test instead of hanging it.
 */
export const produce = (topic: string, messages: ReadonlyArray<Message>) =>
  Effect.tryPromise(async () => {
    const producer = client.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner
    })
    await producer.connect()
    try {
      for (let i = 0; i < messages.length; i += 500) {
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) })
      }
    } finally {
      await producer.disconnect()
    }
  }).pipe(
    Effect.timeoutOrElse({
      duration: "60 seconds",
      orElse: () => Effect.fail(new Error(`producing to ${topic} took over 60 s`))
    }),
    Effect.orDie
  )

/** Offset just past the last message, per partition. */
export const endOffsets = (topic: string) =>
  withAdmin(async (admin) => {
    const offsets = await admin.fetchTopicOffsets(topic)
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]))
  })

export const committedOffsets = (groupId: string, topic: string) =>
  withAdmin(async (admin) => {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]))
  })

export interface ReadRecord {
  readonly partition: number
  readonly offset: string
  readonly key: string | null
  readonly value: Buffer | null
  readonly headers: Record<string, string>
}

/** Every record of `topic` from the beginning up to its current end. */
export const readAll = (topic: string) =>
  Effect.promise(async () => {
    const ends = await Effect.runPromise(endOffsets(topic))
    const total = [...ends.values()].reduce((a, b) => a + b, 0n)
    const records: Array<ReadRecord> = []
    if (total === 0n) return records
    const consumer = client.consumer({ groupId: uniqueName("reader"), maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          records.push({
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            value: message.value,
            headers: Object.fromEntries(
              Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])
            )
          })
          if (BigInt(records.length) >= total) resolve()
        }
      })
    })
    const deadline = new Promise<void>((_, reject) =>
      setTimeout(() => reject(new Error(`read ${records.length} of ${total}`)), 30_000)
    )
    try {
      await Promise.race([done, deadline])
    } finally {
      await consumer.disconnect()
    }
    return records
  })

/** Polls `check` until it returns true or `timeoutMs` passes (then fails with `what`). */
export const eventually = <E, R>(
  what: string,
  check: Effect.Effect<boolean, E, R>,
  timeoutMs = 60_000,
  intervalMs = 200
) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (yield* check) return
      yield* Effect.sleep(intervalMs)
    }
    return yield* Effect.die(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))
  })
