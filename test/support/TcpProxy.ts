/**
 * A TCP proxy in front of PostgreSQL that a test can break: `cut` resets every open
 * connection and every new one (the server looks down); `hang` keeps connections open but
 * passes nothing (a server that stopped answering); `restore` lets everything through again.
 */
import * as net from "node:net"
import { Effect } from "effect"

export interface TcpProxy {
  readonly port: number
  readonly cut: Effect.Effect<void>
  readonly hang: Effect.Effect<void>
  readonly restore: Effect.Effect<void>
}

export const makeTcpProxy = (target: { readonly host: string; readonly port: number }) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ server: net.Server; proxy: TcpProxy }>((resolve) => {
          const open = new Set<net.Socket>()
          let broken = false
          let hanging = false
          const server = net.createServer((client) => {
            if (broken) return void client.resetAndDestroy()
            if (hanging) return void open.add(client)
            const upstream = net.connect(target.port, target.host)
            open.add(client).add(upstream)
            const close = () => {
              client.destroy()
              upstream.destroy()
              open.delete(client)
              open.delete(upstream)
            }
            client.on("error", close).on("close", close)
            upstream.on("error", close).on("close", close)
            client.pipe(upstream).pipe(client)
          })
          server.listen(0, "127.0.0.1", () => {
            const proxy: TcpProxy = {
              port: (server.address() as net.AddressInfo).port,
              cut: Effect.sync(() => {
                broken = true
                for (const socket of open) socket.resetAndDestroy()
                open.clear()
              }),
              hang: Effect.sync(() => {
                hanging = true
                for (const socket of open) socket.pause().unpipe()
              }),
              restore: Effect.sync(() => {
                broken = false
                hanging = false
              })
            }
            resolve({ server, proxy })
          })
        })
    ),
    ({ server, proxy }) =>
      proxy.cut.pipe(
        Effect.andThen(
          Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
        )
      )
  ).pipe(Effect.map(({ proxy }) => proxy))
