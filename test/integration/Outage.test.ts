import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Metric, Redacted, Stream } from "effect"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { SqlClient } from "effect/sql/SqlClient"
import * as Consumer from "../../src/consumer/Consumer.ts"
import { Database, pgClientLayer } from "../../src/db/Database.ts"
import { type DbHealth, HealthRef } from "../../src/health/HealthRef.ts"
import { Kafka } from "../../src/kafka/Kafka.ts"
import * as Metrics from "../../src/metrics/metrics.ts"
import { caughtUp, deadLetterCounts, storedCount } from "../support/checks.ts"
import { loadConfig } from "../support/config.ts"
import {
  committedOffsets,
  createTopics,
  endOffsets,
  eventually,
  freshKafkaNames,
  produce,
  readAll
} from "../support/kafka.ts"
import { ingestLayer } from "../support/Service.ts"
import { makeTcpProxy } from "../support/TcpProxy.ts"
import * as TestDatabase from "../support/TestDatabase.ts"
import { mixedTraffic } from "../support/traffic.ts"

describe("a database outage mid-stream (real Kafka and PostgreSQL)", () => {
  it.live(
    "pauses, rewinds, resumes: every valid order stored once, nothing dead-lettered for it",
    () => {
      const names = freshKafkaNames()
      const traffic = mixedTraffic(1600, 99)
      const firstHalf = traffic.messages.slice(0, 800)
      const secondHalf = traffic.messages.slice(800)
      const env = {
        ...names.env,
        DB_PING_INTERVAL: "200 millis",
        DB_PING_TIMEOUT: "500 millis",
        DB_RETRY_ATTEMPTS: "2",
        DB_RETRY_BASE_DELAY: "50 millis",
        DB_STATEMENT_TIMEOUT: "2 seconds",
        // Shorter than the outage: only heartbeats during the pause keep the member in.
        KAFKA_SESSION_TIMEOUT: "6 seconds",
        // Small transactions, so that the cut lands between batches and inside them.
        INGEST_BATCH_SIZE: "50"
      }
      return Effect.gen(function* () {
        const proxy = yield* makeTcpProxy({ host: "127.0.0.1", port: 5432 })
        yield* createTopics([names.topic, names.dlqTopic], 3)
        yield* produce(names.topic, firstHalf)

        yield* Effect.gen(function* () {
          const health = yield* HealthRef
          const kafka = yield* Kafka
          const seen: Array<DbHealth["_tag"]> = []
          const gaugeWhileDown: Array<number> = []
          const watcher = yield* health.changes.pipe(
            Stream.runForEach((state) =>
              Effect.gen(function* () {
                seen.push(state._tag)
                if (state._tag === "Down") {
                  gaugeWhileDown.push((yield* Metric.value(Metrics.dbUp)).value)
                }
              })
            ),
            Effect.forkScoped
          )

          yield* eventually(
            "some orders stored",
            Effect.map(storedCount, (n) => n > 100)
          )
          yield* proxy.cut
          yield* produce(names.topic, secondHalf)
          yield* eventually(
            "the service to see the database down",
            Effect.map(health.get, (state) => state._tag === "Down")
          )
          const joinsBefore = yield* kafka.groupJoins
          // The outage itself: the database stays unreachable for longer than the session
          // timeout, with traffic arriving.
          yield* Effect.sleep("8 seconds")
          yield* proxy.restore
          yield* eventually("every partition committed to its end", caughtUp(names), 90_000)
          assert.strictEqual(yield* kafka.groupJoins, joinsBefore, "the outage caused a rebalance")

          assert.strictEqual(yield* storedCount, traffic.stored.size)
          const db = yield* Database
          for (const [uid, order] of traffic.stored) {
            assert.deepStrictEqual(JSON.parse(yield* db.findOrder(uid)), order)
          }
          // Only the bad input is dead-lettered (a redelivered one may be sent twice, hence
          // distinct origins); nothing for the outage.
          assert.deepStrictEqual(yield* deadLetterCounts(names.dlqTopic), traffic.deadLetters)

          yield* eventually(
            "db_up back at 1",
            Effect.map(Metric.value(Metrics.dbUp), (gauge) => gauge.value === 1)
          )
          yield* Fiber.interrupt(watcher)
          assert.deepStrictEqual(seen.slice(0, 3), ["Up", "Down", "Up"])
          assert.strictEqual(gaugeWhileDown[0], 0)
        }).pipe(
          Effect.provide(ingestLayer(env, `postgres://postgres@127.0.0.1:${proxy.port}`)),
          Effect.scoped
        )
      }).pipe(Effect.scoped)
    },
    180_000
  )
})

describe("a database that is down when partitions are assigned (real Kafka and PostgreSQL)", () => {
  it.live(
    "partitions assigned during the outage start paused; nothing is consumed until it ends",
    () => {
      const names = freshKafkaNames()
      const traffic = mixedTraffic(300, 5)
      return Effect.gen(function* () {
        const { database } = yield* AppConfig
        // Counting goes around the proxy, which is cut for most of the test.
        const directSql = yield* SqlClient
        const stored = storedCount.pipe(Effect.provideService(SqlClient, directSql))
        const proxy = yield* makeTcpProxy({ host: "127.0.0.1", port: 5432 })
        const dbName = new URL(Redacted.value(database.url)).pathname
        const config = loadConfig({
          ...names.env,
          DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}${dbName}`,
          DB_PING_INTERVAL: "200 millis",
          DB_PING_TIMEOUT: "500 millis"
        })
        yield* createTopics([names.topic, names.dlqTopic], 3)
        yield* produce(names.topic, traffic.messages)
        yield* proxy.cut

        yield* Effect.gen(function* () {
          const kafka = yield* Kafka
          const health = yield* HealthRef
          assert.strictEqual((yield* health.get)._tag, "Down")
          yield* eventually(
            "partitions assigned",
            Effect.map(kafka.groupJoins, (n) => n >= 1)
          )
          // The outage: a few seconds in which the assigned partitions must stay untouched.
          yield* Effect.sleep("3 seconds")
          const committed = yield* committedOffsets(names.groupId, names.topic)
          assert.isTrue(
            [...committed.values()].every((offset) => offset < 0n),
            "committed"
          )
          assert.deepStrictEqual([...(yield* endOffsets(names.dlqTopic)).values()], [0n, 0n, 0n])
          assert.strictEqual(yield* stored, 0)

          yield* proxy.restore
          yield* eventually("every partition committed to its end", caughtUp(names), 60_000)
          assert.strictEqual(yield* stored, traffic.stored.size)
          const letters = yield* readAll(names.dlqTopic)
          assert.strictEqual(
            letters.length,
            traffic.deadLetters.invalid + traffic.deadLetters.already_exists
          )
        }).pipe(
          Effect.provide(
            // Fresh: the outer layer already built a Database over the direct connection.
            Layer.fresh(
              Consumer.layer.pipe(
                Layer.provideMerge(Layer.mergeAll(Kafka.layer, HealthRef.layer)),
                Layer.provideMerge(Layer.fresh(Database.layerNoDeps)),
                Layer.provideMerge(pgClientLayer()),
                Layer.provideMerge(AppConfig.layerFrom(config))
              )
            )
          ),
          Effect.scoped
        )
      }).pipe(Effect.provide(TestDatabase.layer()), Effect.scoped)
    },
    120_000
  )
})
