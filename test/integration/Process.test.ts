import * as net from "node:net"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { Database } from "../../src/db/Database.ts"
import { caughtUp, deadLetterCounts, deadLetters, storedCount } from "../support/checks.ts"
import { createTopics, eventually, freshKafkaNames, produce } from "../support/kafka.ts"
import { freePort } from "../support/prometheus.ts"
import { startService } from "../support/ServiceProcess.ts"
import * as TestDatabase from "../support/TestDatabase.ts"
import { mixedTraffic } from "../support/traffic.ts"

describe("order-service as a process (real Kafka and PostgreSQL)", () => {
  it.live(
    "killed with SIGKILL mid-stream and started again: every order stored exactly once",
    () => {
      const names = freshKafkaNames()
      const traffic = mixedTraffic(4000, 2024)
      return Effect.gen(function* () {
        const { database } = yield* AppConfig
        const env = {
          ...names.env,
          DATABASE_URL: Redacted.value(database.url),
          // Small transactions, so that the kill lands with work in flight.
          INGEST_BATCH_SIZE: "20",
          // The killed member's partitions move once the broker gives up on it.
          KAFKA_SESSION_TIMEOUT: "6 seconds",
          LOG_LEVEL: "warning"
        }
        yield* createTopics([names.topic, names.dlqTopic], 3)
        yield* produce(names.topic, traffic.messages)

        const first = yield* startService("sigkill-first", env)
        yield* eventually(
          "some orders stored",
          Effect.map(storedCount, (n) => n >= 300)
        )
        yield* first.kill("SIGKILL")
        assert.strictEqual(yield* first.exited, "SIGKILL")
        const storedAtKill = yield* storedCount
        assert.isBelow(storedAtKill, traffic.stored.size, "the kill came too late to test")

        const second = yield* startService("sigkill-second", { ...env, LOG_LEVEL: "info" })
        yield* eventually("every partition committed to its end", caughtUp(names), 120_000)
        assert.strictEqual(yield* storedCount, traffic.stored.size)
        const db = yield* Database
        for (const [uid, order] of traffic.stored) {
          assert.deepStrictEqual(JSON.parse(yield* db.findOrder(uid)), order)
        }
        // At-least-once into the DLQ: a letter sent but not committed before the kill is sent
        // again, so distinct origins are counted. No redelivered valid order is a conflict.
        assert.deepStrictEqual(yield* deadLetterCounts(names.dlqTopic), traffic.deadLetters)

        yield* second.kill("SIGTERM")
        assert.strictEqual(yield* second.exited, 0)
        assert.include(second.output(), "order-service stopped")
      }).pipe(Effect.provide(TestDatabase.layer()), Effect.scoped)
    },
    240_000
  )
})

describe("two replicas in one group (real Kafka and PostgreSQL)", () => {
  it.live(
    "one leaves mid-stream: the other takes its partitions, nothing lost or doubled",
    () => {
      const names = freshKafkaNames()
      const traffic = mixedTraffic(4000, 77)
      return Effect.gen(function* () {
        const { database } = yield* AppConfig
        const env = {
          ...names.env,
          DATABASE_URL: Redacted.value(database.url),
          KAFKA_SESSION_TIMEOUT: "10 seconds",
          INGEST_BATCH_SIZE: "20",
          LOG_LEVEL: "warning"
        }
        yield* createTopics([names.topic, names.dlqTopic], 4)
        const leaving = yield* startService("rebalance-leaving", env)
        const staying = yield* startService("rebalance-staying", env)
        yield* produce(names.topic, traffic.messages)
        yield* eventually(
          "some orders stored",
          Effect.map(storedCount, (n) => n >= 300)
        )
        yield* leaving.kill("SIGTERM")
        assert.strictEqual(yield* leaving.exited, 0)

        yield* eventually("every partition committed to its end", caughtUp(names), 120_000)
        assert.strictEqual(yield* storedCount, traffic.stored.size)
        const letters = yield* deadLetters(names.dlqTopic)
        assert.deepStrictEqual(letters.byReason, traffic.deadLetters)
        // The leaving replica finished and committed its batches before it left: nothing it
        // had dead-lettered was handed over uncommitted and sent again.
        assert.strictEqual(letters.duplicates, 0)
        yield* staying.kill("SIGTERM")
        assert.strictEqual(yield* staying.exited, 0)
      }).pipe(Effect.provide(TestDatabase.layer()), Effect.scoped)
    },
    240_000
  )
})

describe("npm start (real Kafka and PostgreSQL)", () => {
  it.live("SIGTERM to npm reaches the service, which stops cleanly", () =>
    Effect.gen(function* () {
      const names = freshKafkaNames()
      const { database } = yield* AppConfig
      const port = yield* freePort
      const service = yield* startService(
        "npm-start",
        { ...names.env, DATABASE_URL: Redacted.value(database.url), HTTP_PORT: String(port) },
        { viaNpm: true }
      )
      // Whether anything accepts connections on the port; bounded, so a poll cannot hang.
      const answers = Effect.promise(
        () =>
          new Promise<boolean>((resolve) => {
            const socket = net.connect(port, "127.0.0.1")
            const done = (up: boolean) => {
              socket.destroy()
              resolve(up)
            }
            socket.setTimeout(1000)
            socket.once("connect", () => done(true))
            socket.once("error", () => done(false))
            socket.once("timeout", () => done(false))
          })
      )
      yield* eventually("the service to listen", answers)
      yield* service.kill("SIGTERM")
      assert.strictEqual(yield* service.exited, 0)
      // npm has exited; the service it ran must be gone too, not left listening.
      yield* eventually(
        "the port to close",
        Effect.map(answers, (up) => !up),
        15_000
      )
      assert.include(service.output(), "order-service stopped")
    }).pipe(Effect.provide(TestDatabase.layer()), Effect.scoped)
  )
})
