/**
 * The whole ingestion path, Kafka to PostgreSQL: the service's consumer storing a topic of
 * valid orders, against a bare kafkajs consumer that reads the same topic and does nothing
 * (what the pipeline costs over reading alone). Needs the test Kafka and PostgreSQL.
 */
import { Effect, References } from "effect"
import { Kafka as KafkaClient, logLevel } from "kafkajs"
import { makeRandom, realisticOrder } from "../src/producer/generate.ts"
import { caughtUp } from "../test/support/checks.ts"
import {
  createTopics,
  eventually,
  freshKafkaNames,
  produce,
  TEST_BROKERS
} from "../test/support/kafka.ts"
import { ingestLayer } from "../test/support/Service.ts"
import type { BenchModule } from "./harness.ts"

const MESSAGES = 20_000

/** Messages per second a do-nothing consumer group reads the topic at. */
const bareRead = (topic: string) =>
  Effect.promise(async () => {
    const client = new KafkaClient({ brokers: TEST_BROKERS, logLevel: logLevel.NOTHING })
    const consumer = client.consumer({ groupId: `${topic}-bare`, maxWaitTimeInMs: 100 })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    let seen = 0
    const started = performance.now()
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length
          if (seen >= MESSAGES) resolve()
        }
      })
    })
    const rate = (MESSAGES / (performance.now() - started)) * 1000
    await consumer.disconnect()
    return rate
  })

const pipeline: BenchModule = {
  title: `Ingestion end to end: ${MESSAGES} orders from Kafka into PostgreSQL`,
  run: () =>
    Effect.runPromise(
      Effect.gen(function* () {
        const names = freshKafkaNames()
        const random = makeRandom(9)
        const messages = Array.from({ length: MESSAGES }, (_, i) => {
          const order = realisticOrder(random, i)
          return { key: order.order_uid, value: JSON.stringify(order) }
        })
        yield* createTopics([names.topic, names.dlqTopic], 3)
        yield* produce(names.topic, messages)
        const bare = yield* bareRead(names.topic)

        const started = performance.now()
        yield* eventually("the service to store the topic", caughtUp(names), 600_000, 50).pipe(
          Effect.provide(ingestLayer(names.env)),
          Effect.scoped,
          Effect.provideService(References.MinimumLogLevel, "Warn")
        )
        const stored = (MESSAGES / (performance.now() - started)) * 1000
        return [
          {
            name: "consumer: decode, store, commit",
            opsPerSecond: stored,
            baseline: "bare kafkajs read",
            baselineOpsPerSecond: bare
          }
        ]
      })
    )
}

export default pipeline
