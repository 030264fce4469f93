/**
 * `npm run bench [filter]`: runs every benchmark module in this folder (files named
 * `*.bench.ts`, in name order) and prints one table per module. Every row is a ratio against
 * a baseline measured in the same run on the same machine, so rows compare across machines
 * even though the absolute numbers do not.
 *
 * A module default-exports a `BenchModule` (see `harness.ts`). `filter` keeps the modules
 * whose file name contains it.
 */
import { readdir } from "node:fs/promises"
import type { BenchModule, BenchRow } from "./harness.ts"

const formatRatio = (ratio: number) => `${ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}x`

const formatRate = (rate: number) =>
  rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M/s` : `${(rate / 1e3).toFixed(1)} k/s`

const printTable = (title: string, rows: ReadonlyArray<BenchRow>) => {
  const lines = rows.map((row) => [
    row.name,
    formatRate(row.opsPerSecond),
    row.baseline,
    formatRate(row.baselineOpsPerSecond),
    formatRatio(row.opsPerSecond / row.baselineOpsPerSecond)
  ])
  const header = ["case", "rate", "baseline", "baseline rate", "ratio"]
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)))
  const format = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, i) => (i === 0 || i === 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
  console.log(`\n${title}`)
  console.log(format(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const line of lines) console.log(format(line))
}

const main = async () => {
  const filter = process.argv[2] ?? ""
  const here = new URL(".", import.meta.url)
  const files = (await readdir(here))
    .filter((file) => file.endsWith(".bench.ts") && file.includes(filter))
    .sort()
  if (files.length === 0) throw new Error(`no benchmark module matches "${filter}"`)
  for (const file of files) {
    const module = (await import(new URL(file, here).href)) as { default: BenchModule }
    printTable(`${module.default.title}  (${file})`, await module.default.run())
  }
}

await main()
