/**
 * The HTTP API as data: every endpoint with the schemas of its parameters, answers and
 * errors, built from the same schemas the handlers use (the order schema, the uid schema and
 * the error table below). `GET /openapi.json` is generated from it; the handlers in
 * `routes.ts` answer with bodies built from the same error table.
 */
import { Schema } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Order, OrderUid } from "../domain/Order.ts"

/** Every error the API answers with: a stable code, its status, and what it means. */
export const apiErrors = {
  invalid_order_uid: {
    status: 400,
    description: "The uid cannot be an order uid (1 to 64 ASCII letters and digits)."
  },
  order_not_found: { status: 404, description: "No order is stored under that uid." },
  not_found: { status: 404, description: "No route has that method and path." },
  payload_too_large: { status: 413, description: "The request body is larger than allowed." },
  internal_error: { status: 500, description: "An unexpected failure; it is logged." },
  database_unavailable: {
    status: 503,
    description: "The database is down and the cache does not hold the order; retry later."
  },
  not_ready: { status: 503, description: "The service cannot take traffic right now." }
} as const

export type ApiErrorCode = keyof typeof apiErrors

/** What Prometheus expects for the text exposition. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

/** The body of every error: a code that clients can match on, and a message for people. */
export const errorSchema = <const Code extends ApiErrorCode>(code: Code) =>
  Schema.Struct({ error: Schema.Literal(code), message: Schema.String })
    .annotate({ identifier: `Error_${code}`, description: apiErrors[code].description })
    .pipe(HttpApiSchema.status(apiErrors[code].status))

/** The 503 of a lookup says when to try again: one database health check later. */
const DatabaseUnavailable = HttpApiSchema.WithHeaders(errorSchema("database_unavailable"), {
  "retry-after": Schema.String.annotate({ description: "Seconds to wait before retrying" })
})

const OrderBody = Order.annotate({
  identifier: "Order",
  description: "The order exactly as it was ingested."
})

// Shortcoming: Schema exports a regex as a JSON Schema `pattern` only when it has the `u` flag,
// and the domain's patterns have none, so the document states the uid rule (and the order's
// field patterns) in words only. Adding `u` in `domain/Order.ts` would put them in.
const Uid = OrderUid.annotate({ description: "The order's order_uid: 1 to 64 letters and digits" })

export const Healthy = Schema.Struct({ status: Schema.Literal("ok") }).annotate({
  identifier: "Healthy"
})

export const ComponentStatus = Schema.Struct({
  component: Schema.String,
  ready: Schema.Boolean,
  reason: Schema.optionalKey(Schema.String)
})

export const ReadyBody = Schema.Struct({
  status: Schema.Literal("ready"),
  database: Schema.Literal("up"),
  components: Schema.Array(ComponentStatus)
}).annotate({ identifier: "Ready" })

export const NotReadyBody = Schema.Struct({
  error: Schema.Literal("not_ready"),
  message: Schema.String,
  database: Schema.Literals(["up", "down"]),
  components: Schema.Array(ComponentStatus)
})
  .annotate({ identifier: "NotReady", description: apiErrors.not_ready.description })
  .pipe(HttpApiSchema.status(503))

const orders = HttpApiGroup.make("orders").add(
  HttpApiEndpoint.get("getOrder", "/orders/:uid", {
    params: { uid: Uid },
    success: OrderBody,
    error: [
      errorSchema("invalid_order_uid"),
      errorSchema("order_not_found"),
      DatabaseUnavailable,
      errorSchema("internal_error")
    ]
  })
)

const operations = HttpApiGroup.make("operations").add(
  HttpApiEndpoint.get("healthz", "/healthz", { success: Healthy }),
  HttpApiEndpoint.get("readyz", "/readyz", { success: ReadyBody, error: NotReadyBody }),
  HttpApiEndpoint.get("metrics", "/metrics", {
    success: Schema.String.annotate({ description: "Prometheus text format 0.0.4" }).pipe(
      HttpApiSchema.asText({ contentType: METRICS_CONTENT_TYPE })
    )
  }),
  HttpApiEndpoint.get("openapi", "/openapi.json", {
    success: Schema.Record(Schema.String, Schema.Unknown).annotate({
      description: "This document"
    })
  })
)

const page = HttpApiGroup.make("page").add(
  HttpApiEndpoint.get("lookupPage", "/", {
    success: Schema.String.annotate({ description: "The order lookup page" }).pipe(
      HttpApiSchema.asText({ contentType: "text/html; charset=utf-8" })
    )
  })
)

export const api = HttpApi.make("order-service")
  .add(orders, operations, page)
  .annotateMerge(
    OpenApi.annotations({
      title: "order-service",
      version: "1",
      description:
        "Look up stored orders by order_uid. Every error is " +
        '`{"error": "<code>", "message": "..."}` with a stable code. ' +
        "Any other route answers 404 `not_found`; a request body above the cap answers 413."
    })
  )

/** The OpenAPI 3.1 document of `api`, generated once. */
export const openApiDocument = OpenApi.fromApi(api)
