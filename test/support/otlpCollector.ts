/**
 * A stand-in OTLP/HTTP collector on a free loopback port: it answers 200 to every request and
 * keeps them, so a test can look at what was exported.
 */
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface Received {
  readonly method: string
  readonly path: string
  readonly contentType: string
  readonly body: Buffer
}

export interface Collector {
  /** `http://127.0.0.1:<port>`, what `OTEL_EXPORTER_OTLP_ENDPOINT` should be. */
  readonly endpoint: string
  readonly received: ReadonlyArray<Received>
}

export const collector = Effect.acquireRelease(
  Effect.callback<{ readonly server: ReturnType<typeof createServer>; collector: Collector }>(
    (resume) => {
      const received: Array<Received> = []
      const server = createServer((request: IncomingMessage, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          received.push({
            method: request.method ?? "",
            path: request.url ?? "",
            contentType: request.headers["content-type"] ?? "",
            body: Buffer.concat(chunks)
          })
          response.writeHead(200, { "content-type": "application/x-protobuf" }).end()
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(
          Effect.succeed({ server, collector: { endpoint: `http://127.0.0.1:${port}`, received } })
        )
      })
    }
  ),
  ({ server }) =>
    Effect.callback<void>((resume) => {
      server.close(() => resume(Effect.void))
      server.closeAllConnections()
    })
).pipe(Effect.map(({ collector }) => collector))

/** Whether any export to `/v1/traces` carries `text` (protobuf keeps strings as UTF-8). */
export const tracesInclude = (collector: Collector, text: string) =>
  collector.received.some((post) => post.path === "/v1/traces" && post.body.includes(text))
