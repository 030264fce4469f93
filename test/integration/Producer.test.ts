import { spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { endOffsets, freshKafkaNames, readAll, TEST_BROKERS } from "../support/kafka.ts"
import { referenceOrder } from "../support/orders.ts"

/** Runs `npm run produce -- args` to completion; its stdout and exit code. */
const produceCli = (topic: string, args: ReadonlyArray<string>) =>
  Effect.promise(
    () =>
      new Promise<{ readonly code: number | null; readonly stdout: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          ["--disable-warning=TimeoutNegativeWarning", "src/producer/cli.ts", ...args],
          {
            env: {
              PATH: process.env["PATH"] ?? "",
              KAFKA_BROKERS: TEST_BROKERS.join(","),
              KAFKA_TOPIC: topic
            },
            stdio: ["ignore", "pipe", "inherit"]
          }
        )
        let stdout = ""
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
        child.on("exit", (code) => resolve({ code, stdout }))
      })
  )

const summaryOf = (stdout: string) =>
  JSON.parse(stdout.slice(stdout.indexOf("{"))) as {
    readonly sent: number
    readonly byKind: Record<string, number>
    readonly ratePerSecond: number
  }

const total = (offsets: ReadonlyMap<number, bigint>) =>
  [...offsets.values()].reduce((sum, n) => sum + n, 0n)

describe("the produce CLI (real Kafka)", () => {
  it.live("publishes the asked mix, creates the topic, and sums it up", () =>
    Effect.gen(function* () {
      const { topic } = freshKafkaNames()
      const run = yield* produceCli(topic, [
        "--count",
        "60",
        "--rate",
        "0",
        "--invalid-ratio",
        "0.25",
        "--gibberish",
        "5",
        "--duplicates",
        "7",
        "--seed",
        "3"
      ])
      assert.strictEqual(run.code, 0)
      const summary = summaryOf(run.stdout)
      assert.strictEqual(summary.sent, 72)
      assert.strictEqual((summary.byKind["valid"] ?? 0) + (summary.byKind["invalid"] ?? 0), 60)
      assert.strictEqual(summary.byKind["gibberish"], 5)
      assert.strictEqual(summary.byKind["duplicate"], 7)
      assert.isAbove(summary.byKind["invalid"] ?? 0, 0)
      assert.strictEqual(total(yield* endOffsets(topic)), 72n)
    })
  )

  it.live("publishes the objects of a JSON file as they are", () =>
    Effect.gen(function* () {
      const { topic } = freshKafkaNames()
      const file = join(mkdtempSync(join(tmpdir(), "produce-")), "orders.json")
      const second = { ...referenceOrder, order_uid: "fromfile2" }
      writeFileSync(file, JSON.stringify([referenceOrder, second]))
      const run = yield* produceCli(topic, ["--file", file, "--rate", "0"])
      assert.strictEqual(run.code, 0)
      assert.strictEqual(summaryOf(run.stdout).sent, 2)
      const records = yield* readAll(topic)
      assert.sameMembers(
        records.map((record) => record.key),
        [referenceOrder.order_uid, "fromfile2"]
      )
      const sent = records.find((record) => record.key === "fromfile2")
      assert.deepStrictEqual(JSON.parse(sent!.value!.toString()), second)
    })
  )

  it.live("refuses a bad option with a clear message and exit code 2", () =>
    Effect.gen(function* () {
      const run = yield* produceCli("unused", ["--invalid-ratio", "2"])
      assert.strictEqual(run.code, 2)
    })
  )
})
