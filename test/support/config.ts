/** Settings for tests: the service's own parser fed from a map instead of the process env. */
import { ConfigProvider, Effect } from "effect"
import { appConfig, type AppConfigShape } from "../../src/config/AppConfig.ts"

export const loadConfig = (env: Record<string, string> = {}): AppConfigShape =>
  Effect.runSync(
    appConfig.pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
    )
  )

/** The PostgreSQL server tests run against; each run makes its own database on it. */
export const TEST_PG_SERVER = process.env["TEST_PG_SERVER"] ?? "postgres://postgres@127.0.0.1:5432"

/** A name no other test run uses, so runs never see each other's rows. */
export const uniqueName = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
