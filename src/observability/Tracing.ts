/**
 * Where the spans of order-service go. With `OTEL_EXPORTER_OTLP_ENDPOINT` set they are batched
 * and posted over OTLP/HTTP (protobuf) to `<endpoint>/v1/traces`; without it the layer adds
 * nothing, and spans stay in-process (log spans and parent links still work).
 *
 * Effect's own OTLP exporter is used rather than the OpenTelemetry trace SDK: it needs no
 * further packages, and an unreachable collector only costs a warning (it pauses itself for a
 * minute), never the service.
 */
import { Effect, Layer, Option } from "effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as OtlpSerialization from "effect/observability/OtlpSerialization"
import * as OtlpTracer from "effect/observability/OtlpTracer"
import { AppConfig } from "../config/AppConfig.ts"

export const SERVICE_NAME = "order-service"

/** The tracer for the configured endpoint, or no change when none is configured. */
export const layer = Layer.unwrap(
  Effect.gen(function* () {
    const { traces } = yield* AppConfig
    if (Option.isNone(traces.otlpEndpoint)) return Layer.empty
    const url = `${traces.otlpEndpoint.value}/v1/traces`
    yield* Effect.logInfo("exporting traces").pipe(Effect.annotateLogs({ service: "Tracing", url }))
    return OtlpTracer.layer({ url, resource: { serviceName: SERVICE_NAME } }).pipe(
      Layer.provide([OtlpSerialization.layerProtobuf, FetchHttpClient.layer])
    )
  })
)
