/** Conditions the integration tests wait for. */
import { Effect } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { committedOffsets, endOffsets } from "./kafka.ts"

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
