/**
 * `npm run migrate`: creates the database if needed and applies pending migrations.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"
import { AppConfig, exitOnConfigError } from "../config/AppConfig.ts"
import * as Logging from "../log/Logging.ts"
import { pgClientLayer } from "./Database.ts"
import * as Migrations from "./Migrations.ts"

Effect.gen(function* () {
  yield* Migrations.ensureDatabase
  yield* Migrations.migrate
}).pipe(
  Effect.provide(pgClientLayer()),
  Effect.provide(Logging.layer),
  Effect.provide(AppConfig.layer),
  exitOnConfigError,
  NodeRuntime.runMain
)
