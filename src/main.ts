/**
 * order-service entry point: composes the layers and runs until SIGTERM or SIGINT, when
 * `runMain` interrupts the program and every layer's finalizer runs in reverse order.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Layer, type Runtime } from "effect"
import { Cache } from "./cache/Cache.ts"
import { AppConfig, exitOnConfigError } from "./config/AppConfig.ts"
import * as Consumer from "./consumer/Consumer.ts"
import { Database, pgClientLayer } from "./db/Database.ts"
import * as Migrations from "./db/Migrations.ts"
import { HealthRef } from "./health/HealthRef.ts"
import * as Http from "./http/Http.ts"
import { Readiness } from "./http/Readiness.ts"
import { Kafka } from "./kafka/Kafka.ts"
import * as Logging from "./log/Logging.ts"
import { MetricsExporter } from "./metrics/MetricsExporter.ts"
import * as Tracing from "./observability/Tracing.ts"

/** The store, migrated before anything uses it. */
const Store = Layer.mergeAll(Database.layerNoDeps, Migrations.layer).pipe(
  Layer.provide(pgClientLayer())
)

const Lifecycle = Layer.effectDiscard(
  Effect.acquireRelease(Effect.logInfo("order-service started"), () =>
    Effect.logInfo("order-service stopped")
  )
)

/** The parts that do the work; each is released before the services below it. */
const Workers = Layer.mergeAll(Lifecycle, Http.layer, Consumer.layer)

const App = Workers.pipe(
  Layer.provideMerge(Cache.layer),
  Layer.provideMerge(Readiness.layer),
  Layer.provideMerge(HealthRef.layer),
  Layer.provideMerge(Kafka.layer),
  Layer.provideMerge(Store),
  Layer.provideMerge(MetricsExporter.layer),
  // Below every service, so that spans from all of them, and their fibers, are exported.
  Layer.provideMerge(Tracing.layer),
  Layer.provideMerge(Logging.layer),
  Layer.provideMerge(AppConfig.layer)
)

/** A stop by SIGTERM or SIGINT is a clean exit (0), not the 130 of an interrupted program. */
const teardown: Runtime.Teardown = (exit, onExit) =>
  onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)

Layer.launch(App).pipe(exitOnConfigError, (main) => NodeRuntime.runMain(main, { teardown }))
