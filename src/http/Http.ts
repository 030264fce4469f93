/**
 * The HTTP server: the routes of `routes.ts` on a Node server bounded against slow and
 * oversized clients. On shutdown it stops accepting, lets requests in flight finish (up to
 * `HTTP_SHUTDOWN_TIMEOUT`), then cuts the rest.
 */
import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Duration, Effect, Layer } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { AppConfig } from "../config/AppConfig.ts"
import { edge } from "./middleware.ts"
import { routes } from "./routes.ts"

const millis = (duration: Duration.Duration) => Math.round(Duration.toMillis(duration))

/** A Node server whose own limits answer slow clients (408) and huge headers (431). */
const nodeServer = Layer.unwrap(
  Effect.gen(function* () {
    const { http } = yield* AppConfig
    const requestTimeout = millis(http.requestTimeout)
    return NodeHttpServer.layer(
      () =>
        createServer({
          requestTimeout,
          // Node refuses a headers timeout above the request timeout.
          headersTimeout: Math.min(millis(http.headersTimeout), requestTimeout),
          keepAliveTimeout: millis(http.keepAliveTimeout),
          maxHeaderSize: http.maxHeaderBytes,
          // Node checks the two timeouts above only this often (30 s by default).
          connectionsCheckingInterval: Math.min(1000, requestTimeout)
        }),
      { port: http.port, gracefulShutdownTimeout: http.shutdownTimeout }
    )
  })
)

const logListening = Layer.effectDiscard(
  HttpServer.addressFormattedWith((address) =>
    Effect.logInfo("http server listening").pipe(Effect.annotateLogs({ service: "Http", address }))
  )
)

/**
 * Serves the API, `/metrics` and the lookup page, and provides the `HttpServer` (tests read
 * its bound address). Needs `Cache`, `HealthRef`, `Readiness`, `MetricsExporter` and
 * `AppConfig`, provided from outside so that they are the same instances the rest of the
 * service uses (`serve` would build its own copies of anything first built inside it).
 */
export const layer = Layer.unwrap(
  Effect.gen(function* () {
    const { http } = yield* AppConfig
    const app = Layer.mergeAll(routes, edge(http.maxBodyBytes))
    return HttpRouter.serve(app, {
      disableLogger: true,
      disableListenLog: true,
      // The router's default (100) would turn a long uid into a 404; the header cap bounds it.
      routerConfig: { maxParamLength: http.maxHeaderBytes }
    }).pipe(Layer.merge(logListening), Layer.provideMerge(nodeServer))
  })
)
