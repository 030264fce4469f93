/**
 * The service as a process, on a database of its own reached through a breakable proxy and
 * on a free HTTP port: what the end-to-end tests need to watch it through an outage.
 */
import { Effect } from "effect"
import { TEST_PG_SERVER, uniqueName } from "./config.ts"
import type { freshKafkaNames } from "./kafka.ts"
import { freePort } from "./prometheus.ts"
import { startService } from "./ServiceProcess.ts"
import { makeTcpProxy } from "./TcpProxy.ts"
import { dropDatabase } from "./TestDatabase.ts"

export const startServiceBehindProxy = (
  name: string,
  names: ReturnType<typeof freshKafkaNames>,
  env: Record<string, string> = {}
) =>
  Effect.gen(function* () {
    const database = uniqueName(`order_service_${name.replaceAll("-", "_")}`)
    const pg = new URL(TEST_PG_SERVER)
    yield* Effect.addFinalizer(() => dropDatabase(database))
    const proxy = yield* makeTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) })
    const port = yield* freePort
    const service = yield* startService(name, {
      ...names.env,
      DATABASE_URL: `postgres://${pg.username}@127.0.0.1:${proxy.port}/${database}`,
      HTTP_PORT: String(port),
      LOG_LEVEL: "warning",
      // Only lookups fill the cache, so hits and misses are the test's to decide.
      CACHE_FILL_ON_INSERT: "false",
      // Fast health checks and retries, so an outage is seen and ended within a second.
      DB_PING_INTERVAL: "200 millis",
      DB_PING_TIMEOUT: "500 millis",
      DB_RETRY_BASE_DELAY: "50 millis",
      ...env
    })
    return { service, proxy, port, base: `http://127.0.0.1:${port}` } as const
  })
