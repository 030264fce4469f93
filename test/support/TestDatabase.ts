/**
 * A migrated database of its own for one test file, dropped when the file's layer closes.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { AppConfig } from "../../src/config/AppConfig.ts"
import { Database, pgClientLayer } from "../../src/db/Database.ts"
import * as Migrations from "../../src/db/Migrations.ts"
import { loadConfig, TEST_PG_SERVER, uniqueName } from "./config.ts"

/** Drops a test database, ending whatever sessions still use it. */
export const dropDatabase = (name: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient
    yield* sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`
  }).pipe(
    Effect.provide(
      PgClient.layer({ url: Redacted.make(`${TEST_PG_SERVER}/postgres`), maxConnections: 1 })
    ),
    Effect.scoped,
    Effect.orDie
  )

/**
 * AppConfig pointing at a fresh database; the database is dropped on release. `server` lets a
 * test reach the same server another way (through a fault-injecting proxy, say).
 */
export const configLayer = (env: Record<string, string> = {}, server = TEST_PG_SERVER) =>
  Layer.effect(
    AppConfig,
    Effect.gen(function* () {
      const name = uniqueName("order_service_test")
      const config = loadConfig({ DATABASE_URL: `${server}/${name}`, ...env })
      yield* Effect.addFinalizer(() => dropDatabase(name))
      return AppConfig.of(config)
    })
  )

/** Database, SqlClient and AppConfig over a fresh, migrated database. */
export const layer = (env: Record<string, string> = {}, server = TEST_PG_SERVER) => {
  const pool = pgClientLayer()
  const migrated = Layer.effectDiscard(
    Effect.gen(function* () {
      yield* Migrations.ensureDatabase
      yield* Migrations.migrate
    })
  ).pipe(Layer.provide(pool))
  return Layer.mergeAll(Database.layerNoDeps, migrated).pipe(
    Layer.provideMerge(pool),
    Layer.provideMerge(configLayer(env, server)),
    Layer.orDie
  )
}
