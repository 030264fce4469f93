/**
 * The two layers every request passes through. `edge` sees every request before routing
 * (body cap, JSON 404 for anything unrouted, security headers); `observe` wraps each routed
 * handler, where the route template is known (request metrics, the 500 boundary).
 */
import { Cause, Clock, Duration, Effect, Metric } from "effect"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Metrics from "../metrics/metrics.ts"
import { errorResponse, securityHeaders } from "./responses.ts"

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])

/** The route label of requests no route took: they are counted, never by their raw path. */
export const UNMATCHED_ROUTE = "unmatched"

/**
 * The status label of a request whose handler was interrupted before it answered: the client
 * went away, or shutdown's grace period ran out. Counted, so that no request goes unseen.
 */
export const INTERRUPTED_STATUS = "interrupted"

const recordRequest = (
  request: HttpServerRequest.HttpServerRequest,
  route: string,
  status: string,
  duration: Duration.Duration
) => {
  const attributes = {
    // Bounded label values: Node parses only known methods, and odd ones are folded together.
    method: KNOWN_METHODS.has(request.method) ? request.method : "OTHER",
    route,
    status
  }
  return Effect.all([
    Metric.update(Metric.withAttributes(Metrics.httpRequests, attributes), 1),
    Metric.update(
      Metric.withAttributes(Metrics.httpRequestDuration, attributes),
      Duration.toSeconds(duration)
    )
  ])
}

/**
 * Route-scoped: counts and times each request by method, route template and status, and turns
 * a defect into a logged 500 with no detail for the client.
 */
export const observe = HttpRouter.middleware((handler) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const { route } = yield* HttpRouter.RouteContext
    const started = yield* Clock.currentTimeMillis
    const [duration, response] = yield* handler.pipe(
      Effect.catchDefect((defect) =>
        Effect.logError("request failed").pipe(
          Effect.annotateLogs({
            service: "Http",
            route: route.path,
            cause: Cause.pretty(Cause.die(defect))
          }),
          Effect.as(errorResponse("internal_error", "an unexpected error occurred"))
        )
      ),
      Effect.timed,
      Effect.onInterrupt(() =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          recordRequest(request, route.path, INTERRUPTED_STATUS, Duration.millis(now - started))
        )
      )
    )
    yield* recordRequest(request, route.path, String(response.status), duration)
    return response
  })
).layer

const isRouteNotFound = (error: unknown) =>
  HttpServerError.isHttpServerError(error) && error.reason._tag === "RouteNotFound"

/**
 * Global: refuses a declared body above `maxBodyBytes` before routing (no endpoint reads a
 * body, and the connection is closed rather than drained), answers JSON 404 for anything no
 * route takes (including paths the router cannot decode), and sets the security headers.
 * Only the answers made here are counted here; routed ones are counted by `observe`.
 */
export const edge = (maxBodyBytes: number) =>
  HttpRouter.middleware(
    (handler) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const started = yield* Clock.currentTimeNanos
        const unrouted = (response: HttpServerResponse.HttpServerResponse) =>
          Clock.currentTimeNanos.pipe(
            Effect.flatMap((now) =>
              recordRequest(
                request,
                UNMATCHED_ROUTE,
                String(response.status),
                Duration.nanos(now - started)
              )
            ),
            Effect.as(response)
          )

        // Shortcoming: a chunked body declares no length and is not refused here; nothing
        // reads it, Node discards it, and HTTP_REQUEST_TIMEOUT bounds how long that may take.
        const declared = Number(request.headers["content-length"] ?? "0")
        const response = !(declared <= maxBodyBytes)
          ? yield* unrouted(
              errorResponse(
                "payload_too_large",
                `request bodies are limited to ${maxBodyBytes} bytes`,
                { connection: "close" }
              )
            )
          : yield* handler.pipe(
              // Shortcoming: a known path with another method is a 404 too, not a 405 with
              // `Allow`; the router does not say whether the path matched for another method.
              Effect.catchIf(isRouteNotFound, () =>
                unrouted(errorResponse("not_found", "no such route"))
              )
            )
        return HttpServerResponse.setHeaders(response, securityHeaders)
      }),
    { global: true }
  )
