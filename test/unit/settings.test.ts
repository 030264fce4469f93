import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Redacted } from "effect"
import { appConfig } from "../../src/config/AppConfig.ts"

const load = (env: Record<string, string>) =>
  appConfig.pipe(
    Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
  )

describe("AppConfig", () => {
  it.effect("has defaults that work on a developer machine", () =>
    Effect.gen(function* () {
      const config = yield* load({})
      assert.strictEqual(
        Redacted.value(config.database.url),
        "postgres://postgres@127.0.0.1:5432/orders"
      )
      assert.deepStrictEqual(config.kafka.brokers, ["127.0.0.1:9092"])
      assert.strictEqual(config.kafka.topic, "orders")
      assert.strictEqual(config.kafka.dlqTopic, "orders-dlq")
      assert.strictEqual(config.http.port, 8080)
      assert.strictEqual(config.log.format, "json")
    })
  )

  it.effect("reads every kind of value from the environment", () =>
    Effect.gen(function* () {
      const config = yield* load({
        KAFKA_BROKERS: "a:1, b:2",
        DB_PING_INTERVAL: "250 millis",
        DB_PING_TIMEOUT: "3 seconds",
        DB_STATEMENT_TIMEOUT: "1500",
        CACHE_FILL_ON_INSERT: "false",
        LOG_LEVEL: "DEBUG",
        HTTP_PORT: "9000"
      })
      assert.deepStrictEqual(config.kafka.brokers, ["a:1", "b:2"])
      assert.strictEqual(Duration.toMillis(config.database.pingInterval), 250)
      assert.strictEqual(Duration.toMillis(config.database.pingTimeout), 3000)
      assert.strictEqual(Duration.toMillis(config.database.statementTimeout), 1500)
      assert.strictEqual(config.cache.fillOnInsert, false)
      assert.strictEqual(config.log.level, "debug")
      assert.strictEqual(config.http.port, 9000)
    })
  )

  it.effect.each([
    ["HTTP_PORT", "abc", "an integer from 0 to 65535"],
    ["HTTP_PORT", "70000", "an integer from 0 to 65535"],
    ["DB_POOL_MAX", "0", "an integer from 1 to 1000"],
    ["DB_PING_INTERVAL", "soon", "a duration"],
    ["HTTP_REQUEST_TIMEOUT", "0", "above zero"],
    ["LOG_FORMAT", "xml", "one of json, pretty"],
    ["CACHE_FILL_ON_INSERT", "maybe", "true or false"],
    ["KAFKA_BROKERS", "a:1,,b:2", "a comma-separated list"],
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "an http(s) URL"]
  ] as const)("refuses %s=%s naming the variable, value and expectation", ([name, raw, hint]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(load({ [name]: raw }))
      assert.include(error.message, `${name}="${raw}"`)
      assert.include(error.message, hint)
      assert.notInclude(error.message, "\n")
    })
  )
})
