/**
 * `npm run demo`: the whole job on one machine. Starts the local Kafka broker if none
 * answers, migrates the database, runs the service and a producer at a modest rate, and
 * says where to look. Ctrl-C stops what this script started, in reverse order.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdirSync, openSync } from "node:fs"
import * as net from "node:net"

const env = { ...process.env }
const brokers = env["KAFKA_BROKERS"] ?? "127.0.0.1:9092"
const port = env["HTTP_PORT"] ?? "8080"
const rate = env["DEMO_RATE"] ?? "20"
const node = [process.execPath, "--disable-warning=TimeoutNegativeWarning"]
mkdirSync(".cache/demo", { recursive: true })

const say = (line: string) => process.stdout.write(`demo: ${line}\n`)

const answers = (address: string) =>
  new Promise<boolean>((resolve) => {
    const [host = "127.0.0.1", portText = "9092"] = address.split(":")
    const socket = net.connect(Number(portText), host)
    socket.setTimeout(1000)
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
    socket.once("timeout", () => (socket.destroy(), resolve(false)))
  })

const run = (command: string, args: ReadonlyArray<string>) => {
  const result = spawnSync(command, args, { stdio: "inherit", env })
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed`)
}

const started: Array<{ readonly name: string; readonly child: ChildProcess }> = []
let startedKafka = false

const startChild = (name: string, args: ReadonlyArray<string>, logFile?: string) => {
  const out = logFile === undefined ? "inherit" : openSync(logFile, "a")
  const child = spawn(node[0]!, [...node.slice(1), ...args], {
    env,
    stdio: ["ignore", out, logFile === undefined ? "inherit" : out]
  })
  started.push({ name, child })
  child.once("exit", (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${code ?? signal}); stopping the demo`)
      void stop(1)
    }
  })
  return child
}

let stopping = false
const stop = async (code: number) => {
  if (stopping) return
  stopping = true
  say("stopping")
  for (const { name, child } of started.toReversed()) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    await exited
    say(`${name} stopped`)
  }
  if (startedKafka) run("scripts/kafka.sh", ["stop"])
  process.exit(code)
}
process.once("SIGINT", () => void stop(0)).once("SIGTERM", () => void stop(0))

const main = async () => {
  if (!(await answers(brokers.split(",")[0]!))) {
    say(`no Kafka at ${brokers}; starting the local broker`)
    run("scripts/kafka.sh", ["start"])
    startedKafka = true
  }
  run(node[0]!, [...node.slice(1), "src/db/migrate.ts"])
  startChild("service", ["src/main.ts"], ".cache/demo/service.log")
  const deadline = Date.now() + 60_000
  while (!(await answers(`127.0.0.1:${port}`))) {
    if (Date.now() > deadline) throw new Error("the service did not open its HTTP port")
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  say(`order lookup page  http://localhost:${port}/`)
  say(`metrics            http://localhost:${port}/metrics`)
  say(`readiness          http://localhost:${port}/readyz`)
  say("service logs       .cache/demo/service.log")
  say(`producing ${rate} messages/s (10% invalid, some gibberish and redeliveries); Ctrl-C stops`)
  startChild("producer", [
    "src/producer/cli.ts",
    "--count",
    "1000000",
    "--rate",
    rate,
    "--invalid-ratio",
    "0.1",
    "--gibberish",
    "5000",
    "--duplicates",
    "20000"
  ])
}

main().catch(async (error: unknown) => {
  say(error instanceof Error ? error.message : String(error))
  await stop(1)
})
