/** Conditions the integration tests wait for. */
import { Effect } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { DLQ_HEADERS } from "../../src/consumer/DeadLetter.ts"
import { committedOffsets, endOffsets, readAll } from "./kafka.ts"

export const storedCount = Effect.gen(function* () {
  const sql = yield* SqlClient
  const [row] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM orders`
  return row!.n
})

/** True when the group has committed every non-empty partition of the topic to its end. */
export const caughtUp = (names: { readonly groupId: string; readonly topic: string }) =>
  Effect.gen(function* () {
    const ends = yield* endOffsets(names.topic)
    const committed = yield* committedOffsets(names.groupId, names.topic)
    return [...ends].every(([partition, end]) => end === 0n || committed.get(partition) === end)
  })

/**
 * How many distinct source messages the dead-letter topic holds, by reason. Dead-lettering is
 * at-least-once, so a letter sent twice (sent, then redelivered before its commit) counts once.
 */
export const deadLetterCounts = (dlqTopic: string) =>
  Effect.map(deadLetters(dlqTopic), ({ byReason }) => byReason)

/** The dead letters by reason (distinct origins), and how many were sent more than once. */
export const deadLetters = (dlqTopic: string) =>
  Effect.map(readAll(dlqTopic), (letters) => {
    const origins: Record<string, Set<string>> = {}
    for (const letter of letters) {
      const reason = letter.headers[DLQ_HEADERS.reason] ?? "(none)"
      const origin = `${letter.headers[DLQ_HEADERS.sourcePartition]}:${
        letter.headers[DLQ_HEADERS.sourceOffset]
      }`
      ;(origins[reason] ??= new Set()).add(origin)
    }
    const distinct = Object.values(origins).reduce((sum, set) => sum + set.size, 0)
    return {
      byReason: Object.fromEntries(
        Object.entries(origins).map(([reason, set]) => [reason, set.size])
      ),
      duplicates: letters.length - distinct
    }
  })
