/**
 * order-service as a real process (`node src/main.ts`), for what only a process can show:
 * being killed with SIGKILL, stopping on SIGTERM.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createWriteStream, mkdirSync } from "node:fs"
import { Effect } from "effect"

/** kafkajs 2.2.4 sets a negative timer on Node 24; Node clamps it, the warning is noise. */
const NO_KAFKAJS_WARNING = "--disable-warning=TimeoutNegativeWarning"

export interface ServiceProcess {
  readonly pid: number
  /** Everything the process wrote so far, stdout and stderr. */
  readonly output: () => string
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<void>
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Effect.Effect<number | string>
}

/**
 * Starts the service with `env` on top of a minimal environment; killed when the scope ends.
 * `viaNpm` starts it the way the README says, with `npm start`, signals going to npm.
 */
export const startService = (
  name: string,
  env: Record<string, string>,
  { viaNpm = false }: { readonly viaNpm?: boolean } = {}
) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      mkdirSync("test-output", { recursive: true })
      const log = createWriteStream(`test-output/${name}.log`)
      let output = ""
      const [command, args] = viaNpm
        ? ["npm", ["start"]]
        : [process.execPath, [NO_KAFKAJS_WARNING, "src/main.ts"]]
      const child: ChildProcess = spawn(command, args, {
        env: { PATH: process.env["PATH"] ?? "", HTTP_PORT: "0", LOG_LEVEL: "info", ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      const collect = (chunk: Buffer) => {
        output += chunk.toString()
        log.write(chunk)
      }
      child.stdout?.on("data", collect)
      child.stderr?.on("data", collect)
      const exit = new Promise<number | string>((resolve) =>
        child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
      )
      const service: ServiceProcess = {
        pid: child.pid ?? -1,
        output: () => output,
        kill: (signal) => Effect.sync(() => void child.kill(signal)),
        exited: Effect.promise(() => exit)
      }
      return { child, service }
    }),
    ({ child }) =>
      child.exitCode === null && child.signalCode === null
        ? Effect.sync(() => void child.kill("SIGKILL"))
        : Effect.void
  ).pipe(Effect.map(({ service }) => service))
