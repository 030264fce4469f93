/**
 * order-service entry point: composes the layers and runs until SIGTERM or SIGINT, when
 * `runMain` interrupts the program and every layer's finalizer runs in reverse order.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import { AppConfig, exitOnConfigError } from "./config/AppConfig.ts"
import { Database, pgClientLayer } from "./db/Database.ts"
import * as Migrations from "./db/Migrations.ts"
import { HealthRef } from "./health/HealthRef.ts"
import * as Logging from "./log/Logging.ts"
import { MetricsExporter } from "./metrics/MetricsExporter.ts"

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
const Workers = Layer.mergeAll(Lifecycle)

const App = Workers.pipe(
  Layer.provideMerge(HealthRef.layer),
  Layer.provideMerge(Store),
  Layer.provideMerge(MetricsExporter.layer),
  Layer.provideMerge(Logging.layer),
  Layer.provideMerge(AppConfig.layer)
)

Layer.launch(App).pipe(exitOnConfigError, NodeRuntime.runMain)
