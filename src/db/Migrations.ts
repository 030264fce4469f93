/**
 * Schema migrations, applied by `npm run migrate` and at every service start. The database
 * named in `DATABASE_URL` is created first if it does not exist, so a fresh server works.
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { PgClient } from "@effect/sql-pg"
import * as PgMigrator from "@effect/sql-pg/PgMigrator"
import { Duration, Effect, Layer, Redacted, Schedule } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { AppConfig } from "../config/AppConfig.ts"
import { DatabaseUnavailable } from "../domain/errors.ts"
import createOrders from "./migrations/0001_create_orders.ts"
import { classifySqlError, sqlstateOf } from "./sqlErrors.ts"

const migrations = PgMigrator.fromRecord({
  "0001_create_orders": createOrders
})

const DUPLICATE_DATABASE = "42P04"

/** Connects to the server's `postgres` database and creates ours when it is missing. */
export const ensureDatabase = Effect.gen(function* () {
  const { database } = yield* AppConfig
  const target = new URL(Redacted.value(database.url))
  const name = decodeURIComponent(target.pathname.replace(/^\//, "")) || "postgres"
  const admin = new URL(target)
  admin.pathname = "/postgres"

  yield* Effect.gen(function* () {
    const sql = yield* SqlClient
    const [existing] = yield* sql`SELECT 1 AS found FROM pg_database WHERE datname = ${name}`
    if (existing !== undefined) return
    yield* sql`CREATE DATABASE ${sql(name)}`.pipe(
      // Another replica may win the race between our check and our CREATE.
      Effect.catchIf(
        (error) => sqlstateOf(error) === DUPLICATE_DATABASE,
        () => Effect.void
      )
    )
    yield* Effect.logInfo("database created").pipe(Effect.annotateLogs({ database: name }))
  }).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(admin.toString()), maxConnections: 1 })),
    Effect.scoped
  )
})

/** Applies the migrations that have not run yet; safe to run from several replicas at once. */
export const migrate = PgMigrator.run({ loader: migrations }).pipe(
  Effect.tap((applied) =>
    applied.length === 0
      ? Effect.logDebug("schema up to date")
      : Effect.logInfo("migrations applied").pipe(
          Effect.annotateLogs({ migrations: applied.map(([id, name]) => `${id}_${name}`) })
        )
  ),
  Effect.provide(NodeServices.layer)
)

/** While the database is unreachable at start: try again every few seconds, as long as it takes. */
const startupRetry = Schedule.spaced(Duration.seconds(3))

/**
 * Creates the database if needed and migrates it, with the pool of the layer that needs it.
 * A database that is down at start delays start-up (with a warning per attempt) instead of
 * ending the process: nothing is consumed before the schema is known to be there.
 */
export const layer = Layer.effectDiscard(
  Effect.gen(function* () {
    yield* ensureDatabase
    yield* migrate
  }).pipe(
    Effect.mapError((error) => {
      const failure = classifySqlError(error)
      return failure._tag === "Unavailable"
        ? new DatabaseUnavailable({ operation: "migrate", detail: failure.detail })
        : error
    }),
    Effect.tapError((error) =>
      error instanceof DatabaseUnavailable
        ? Effect.logWarning("database unavailable at start, retrying").pipe(
            Effect.annotateLogs({ error: error.detail })
          )
        : Effect.void
    ),
    Effect.retry({
      schedule: startupRetry,
      while: (error) => error instanceof DatabaseUnavailable
    })
  )
)
