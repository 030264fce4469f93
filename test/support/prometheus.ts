/**
 * A real Prometheus server for one test: Debian's binary, started as a child process on a free
 * loopback port with its own config and data directory, stopped when the scope closes.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Schedule } from "effect"

export const PROMETHEUS_BIN = process.env["PROMETHEUS_BIN"] ?? "/usr/bin/prometheus"
export const PROMTOOL_BIN = process.env["PROMTOOL_BIN"] ?? "/usr/bin/promtool"

export interface PrometheusOptions {
  /** `host:port` of each endpoint to scrape at `/metrics`, all in one job. */
  readonly targets: ReadonlyArray<string>
  readonly job: string
  /** Absolute paths of rule files to load. */
  readonly ruleFiles?: ReadonlyArray<string>
  readonly scrapeInterval?: string
}

export interface QueryResult {
  readonly status: "success" | "error"
  readonly error?: string
  readonly data?: { readonly resultType: string; readonly result: ReadonlyArray<unknown> }
}

export interface Prometheus {
  readonly url: string
  /** An instant query through the HTTP API (`/api/v1/query`). */
  readonly query: (expr: string) => Effect.Effect<QueryResult>
  readonly get: (path: string) => Effect.Effect<any>
  /** What the server has logged so far, for failure messages. */
  readonly log: () => string
}

/**
 * A port nobody listens on right now. Another process could take it before Prometheus binds
 * it; Prometheus would then exit at once and `start` fails with its log.
 */
export const freePort = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const fetchJson = (url: string) =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(url, { signal })
      return (await response.json()) as any
    },
    catch: (cause) => new Error(`GET ${url}: ${String(cause)}`)
  })

const stop = (child: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000)
    child.once("exit", () => {
      clearTimeout(killer)
      resume(Effect.void)
    })
    child.kill("SIGTERM")
  })

export const start = (options: PrometheusOptions) =>
  Effect.gen(function* () {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "order-service-prometheus-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    )
    const interval = options.scrapeInterval ?? "1s"
    const config = {
      global: { scrape_interval: interval, evaluation_interval: interval },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: [
        {
          job_name: options.job,
          metrics_path: "/metrics",
          static_configs: [{ targets: options.targets }]
        }
      ]
    }
    // JSON is valid YAML, so no serializer is needed for Prometheus's config.
    writeFileSync(join(dir, "prometheus.yml"), JSON.stringify(config, null, 2))
    const port = yield* freePort
    const url = `http://127.0.0.1:${port}`

    let log = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(
          PROMETHEUS_BIN,
          [
            `--config.file=${join(dir, "prometheus.yml")}`,
            `--storage.tsdb.path=${join(dir, "data")}`,
            `--web.listen-address=127.0.0.1:${port}`,
            "--log.level=warn"
          ],
          { stdio: ["ignore", "ignore", "pipe"] }
        )
        child.stderr?.on("data", (chunk: Buffer) => {
          log += chunk.toString("utf8")
        })
        return child
      }),
      stop
    )

    const ready = Effect.suspend(() =>
      child.exitCode !== null
        ? Effect.die(new Error(`prometheus exited with ${child.exitCode}:\n${log}`))
        : Effect.tryPromise(() => fetch(`${url}/-/ready`)).pipe(
            Effect.flatMap((response) =>
              response.ok ? Effect.void : Effect.fail(new Error(`ready: ${response.status}`))
            )
          )
    )
    yield* ready.pipe(
      Effect.retry(Schedule.spaced("100 millis")),
      Effect.timeoutOrElse({
        duration: Duration.seconds(30),
        orElse: () => Effect.die(new Error(`prometheus not ready within 30 s:\n${log}`))
      })
    )

    const prometheus: Prometheus = {
      url,
      query: (expr) =>
        fetchJson(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`).pipe(
          Effect.map((body) => body as QueryResult),
          Effect.orDie
        ),
      get: (path) => fetchJson(`${url}${path}`).pipe(Effect.orDie),
      log: () => log
    }
    return prometheus
  })

/** Runs promtool; its exit code and output, so a test can show what it objected to. */
export const promtool = (args: ReadonlyArray<string>, stdin?: string) =>
  Effect.callback<{ readonly code: number; readonly output: string }>((resume) => {
    const child = execFile(PROMTOOL_BIN, [...args], (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== "number") {
        return resume(Effect.die(new Error(`cannot run ${PROMTOOL_BIN}: ${error.message}`)))
      }
      resume(
        Effect.succeed({ code: error === null ? 0 : Number(error.code), output: stdout + stderr })
      )
    })
    child.stdin?.end(stdin ?? "")
  })
