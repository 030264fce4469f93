import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Message } from "kafkajs"
import { DLQ_HEADERS } from "../../src/consumer/DeadLetter.ts"
import { Database } from "../../src/db/Database.ts"
import type { Order } from "../../src/domain/Order.ts"
import { caughtUp, storedCount } from "../support/checks.ts"
import {
  committedOffsets,
  createTopics,
  eventually,
  freshKafkaNames,
  produce,
  readAll
} from "../support/kafka.ts"
import { referenceOrder } from "../support/orders.ts"
import { ingestLayer } from "../support/Service.ts"
import { mixedTraffic } from "../support/traffic.ts"

/**
 * Creates the topics and publishes `messages` before the service starts (so the test, not
 * the service, decides the partition count), then runs `body` with the service running.
 */
const withService = <A, E, R>(
  partitions: number,
  messages: ReadonlyArray<Message>,
  body: (names: ReturnType<typeof freshKafkaNames>) => Effect.Effect<A, E, R>
) => {
  const names = freshKafkaNames()
  return Effect.gen(function* () {
    yield* createTopics([names.topic, names.dlqTopic], partitions)
    yield* produce(names.topic, messages)
    return yield* body(names).pipe(Effect.provide(ingestLayer(names.env)), Effect.scoped)
  })
}

describe("ingestion (real Kafka and PostgreSQL)", () => {
  it.live(
    "2,000 mixed messages: valid stored once, invalid dead-lettered, offsets at the end",
    () => {
      const traffic = mixedTraffic(2000, 7)
      return withService(3, traffic.messages, (names) =>
        Effect.gen(function* () {
          yield* eventually("every partition committed to its end", caughtUp(names))

          assert.strictEqual(yield* storedCount, traffic.stored.size)
          const db = yield* Database
          for (const [uid, order] of traffic.stored) {
            assert.deepStrictEqual(JSON.parse(yield* db.findOrder(uid)) as Order, order)
          }

          const letters = yield* readAll(names.dlqTopic)
          const byReason: Record<string, number> = { invalid: 0, already_exists: 0 }
          for (const letter of letters) {
            const reason = letter.headers[DLQ_HEADERS.reason]!
            byReason[reason] = (byReason[reason] ?? 0) + 1
            assert.strictEqual(letter.headers[DLQ_HEADERS.sourceTopic], names.topic)
            assert.match(letter.headers[DLQ_HEADERS.sourceOffset]!, /^[0-9]+$/)
            assert.isAbove(letter.headers[DLQ_HEADERS.error]!.length, 0)
          }
          assert.deepStrictEqual(byReason, traffic.deadLetters)
        })
      )
    },
    180_000
  )

  it.live("a dead letter keeps the original key, value and headers, and its origin", () => {
    const value = JSON.stringify({ ...referenceOrder, delivery: { phone: "nope" } })
    const messages = [
      { key: "k-1", value, headers: { "trace-id": "abc123" } },
      { key: "k-2", value: JSON.stringify(referenceOrder) }
    ]
    return withService(1, messages, (names) =>
      Effect.gen(function* () {
        yield* eventually("the partition committed", caughtUp(names))
        const [letter, ...others] = yield* readAll(names.dlqTopic)
        assert.lengthOf(others, 0)
        assert.strictEqual(letter?.key, "k-1")
        assert.strictEqual(letter?.value?.toString(), value)
        assert.strictEqual(letter?.headers["trace-id"], "abc123")
        assert.strictEqual(letter?.headers[DLQ_HEADERS.reason], "invalid")
        assert.match(letter!.headers[DLQ_HEADERS.error]!, /\$\.delivery/)
        assert.strictEqual(letter?.headers[DLQ_HEADERS.sourcePartition], "0")
        assert.strictEqual(letter?.headers[DLQ_HEADERS.sourceOffset], "0")
        assert.strictEqual(yield* storedCount, 1)
      })
    )
  })

  it.live("an order the database refuses goes to the DLQ and the partition keeps moving", () => {
    const refused = { ...referenceOrder, order_uid: "refused1", entry: "W\u0000BIL" }
    const after = { ...referenceOrder, order_uid: "after1" }
    const messages = [
      { key: "a", value: JSON.stringify(refused) },
      { key: "b", value: JSON.stringify(after) }
    ]
    return withService(1, messages, (names) =>
      Effect.gen(function* () {
        yield* eventually("the partition committed", caughtUp(names))
        const db = yield* Database
        assert.deepStrictEqual(JSON.parse(yield* db.findOrder("after1")), after)
        const [letter, ...others] = yield* readAll(names.dlqTopic)
        assert.lengthOf(others, 0)
        assert.strictEqual(letter?.headers[DLQ_HEADERS.reason], "invalid")
        assert.match(letter!.headers[DLQ_HEADERS.error]!, /rejected by the database/)
      })
    )
  })
})

describe("dead-letter acknowledgements (real Kafka and PostgreSQL)", () => {
  it.live("no offset is committed past a message whose dead letter is not acknowledged", () => {
    const names = freshKafkaNames()
    const valid = (uid: string) => JSON.stringify({ ...referenceOrder, order_uid: uid })
    const env = {
      ...names.env,
      // The DLQ topic does not exist and the service may not create it: every send fails.
      KAFKA_CREATE_TOPICS: "false",
      KAFKA_DLQ_SEND_TIMEOUT: "1 second"
    }
    return Effect.gen(function* () {
      yield* createTopics([names.topic], 1)
      yield* produce(names.topic, [
        { key: "a", value: valid("first1") },
        { key: "b", value: "not an order" },
        { key: "c", value: valid("third1") }
      ])
      yield* Effect.gen(function* () {
        const db = yield* Database
        yield* eventually(
          "the order after the bad message stored",
          Effect.map(Effect.result(db.findOrder("third1")), (r) => r._tag === "Success")
        )
        // The first order is durable and committed; the bad message holds the rest back.
        yield* eventually(
          "the commit to stop at the unacknowledged message",
          Effect.map(committedOffsets(names.groupId, names.topic), (committed) => {
            const offset = committed.get(0) ?? -1n
            assert.isTrue(offset <= 1n, "committed past an unacknowledged dead letter")
            return offset === 1n
          })
        )

        yield* createTopics([names.dlqTopic], 1)
        yield* eventually("the partition committed", caughtUp(names))
        const letters = yield* readAll(names.dlqTopic)
        assert.isAtLeast(letters.length, 1)
        for (const letter of letters) assert.strictEqual(letter.key, "b")
      }).pipe(Effect.provide(ingestLayer(env)), Effect.scoped)
    })
  })
})
