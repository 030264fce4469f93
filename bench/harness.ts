/**
 * What a benchmark module exports, and the two ways it measures. Kept apart from the runner so
 * that modules can import it while the runner imports them.
 */

export interface BenchRow {
  readonly name: string
  readonly opsPerSecond: number
  readonly baseline: string
  readonly baselineOpsPerSecond: number
}

export interface BenchModule {
  readonly title: string
  readonly run: () => Promise<ReadonlyArray<BenchRow>>
}

/** Calls `op` in batches until `millis` have passed; returns calls per second. */
export const measureSync = (op: (i: number) => unknown, millis = 1000): number => {
  const batch = 10_000
  let calls = 0
  const start = performance.now()
  let elapsed = 0
  while (elapsed < millis) {
    for (let i = 0; i < batch; i++) op(calls + i)
    calls += batch
    elapsed = performance.now() - start
  }
  return (calls / elapsed) * 1000
}

/** Runs `op` from `concurrency` workers until `millis` have passed; returns completions/s. */
export const measureAsync = async (
  op: () => Promise<unknown>,
  { millis = 2000, concurrency = 16 } = {}
): Promise<number> => {
  let done = 0
  const start = performance.now()
  const deadline = start + millis
  const worker = async () => {
    while (performance.now() < deadline) {
      await op()
      done++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return (done / (performance.now() - start)) * 1000
}
