import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { AppConfig } from "../../src/config/AppConfig.ts"
import * as Tracing from "../../src/observability/Tracing.ts"
import { loadConfig } from "../support/config.ts"
import { collector } from "../support/otlpCollector.ts"

const configWith = (env: Record<string, string>) => AppConfig.layerFrom(loadConfig(env))

describe("Tracing", () => {
  it.effect("posts finished spans to <endpoint>/v1/traces when the endpoint is set", () =>
    Effect.gen(function* () {
      const { endpoint, received } = yield* collector

      // Closing the tracer's layer flushes the batch, so the POST has happened once it ends.
      yield* Effect.void.pipe(
        Effect.withSpan("Test.inner", { attributes: { "order.uid": "uid123" } }),
        Effect.withSpan("Test.outer"),
        Effect.provide(
          Tracing.layer.pipe(
            Layer.provide(configWith({ OTEL_EXPORTER_OTLP_ENDPOINT: `${endpoint}/` }))
          )
        )
      )

      assert.strictEqual(received.length, 1)
      const [post] = received
      assert.isDefined(post)
      assert.strictEqual(post.method, "POST")
      assert.strictEqual(post.path, "/v1/traces")
      assert.strictEqual(post.contentType, "application/x-protobuf")
      // Protobuf keeps strings as raw UTF-8, so names and attributes are visible in the bytes.
      for (const text of ["Test.outer", "Test.inner", "order.uid", "uid123", "order-service"]) {
        assert.isTrue(post.body.includes(text), `the export carries ${text}`)
      }
    }).pipe(Effect.scoped)
  )

  it.effect.each([["unset", {}] as const, ["empty", { OTEL_EXPORTER_OTLP_ENDPOINT: "" }] as const])(
    "keeps the default tracer when the endpoint is %s",
    ([, env]) =>
      Effect.gen(function* () {
        const { received } = yield* collector
        const before = yield* Effect.tracer
        const inside = yield* Effect.tracer.pipe(
          Effect.withSpan("Test.untraced"),
          Effect.provide(Tracing.layer.pipe(Layer.provide(configWith(env))))
        )
        assert.strictEqual(inside, before)
        assert.strictEqual(received.length, 0)
      }).pipe(Effect.scoped)
  )
})
