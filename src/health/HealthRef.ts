/**
 * What order-service believes about the database right now, and how it learns. A scheduled
 * fiber pings the database; the pipeline calls `markDown` the moment it sees the database
 * gone, without waiting for the next ping. Health is logged on change only.
 */
import { Cause, Context, Effect, Layer, Metric, Schedule, Stream, SubscriptionRef } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { Database } from "../db/Database.ts"
import * as Metrics from "../metrics/metrics.ts"

export type DbHealth =
  { readonly _tag: "Up" } | { readonly _tag: "Down"; readonly reason: string; readonly since: Date }

export interface HealthRefShape {
  readonly get: Effect.Effect<DbHealth>
  /** The current health first, then every transition (never the same state twice in a row). */
  readonly changes: Stream.Stream<DbHealth>
  /** Completes at once when the database is up, otherwise on the next transition to up. */
  readonly awaitUp: Effect.Effect<void>
  readonly markDown: (reason: string) => Effect.Effect<void>
}

const up: DbHealth = { _tag: "Up" }

export class HealthRef extends Context.Service<HealthRef, HealthRefShape>()(
  "order-service/HealthRef"
) {
  /** Needs `Database` and `AppConfig`; starts the pinger, which stops with the layer. */
  static readonly layer = Layer.effect(HealthRef, makeHealthRef())

  /** A HealthRef with no pinger, for tests that drive health by hand. */
  static readonly makeManual = (initial: DbHealth = up) =>
    Effect.gen(function* () {
      const ref = yield* SubscriptionRef.make(initial)
      const set = (health: DbHealth) => SubscriptionRef.set(ref, health)
      return { service: fromRef(ref), setUp: set(up), set } as const
    })
}

const sameState = (a: DbHealth, b: DbHealth) => a._tag === b._tag

function fromRef(ref: SubscriptionRef.SubscriptionRef<DbHealth>): HealthRefShape {
  const changes = SubscriptionRef.changes(ref).pipe(Stream.changesWith(sameState))
  return HealthRef.of({
    get: SubscriptionRef.get(ref),
    changes,
    awaitUp: changes.pipe(
      Stream.filter((health) => health._tag === "Up"),
      Stream.take(1),
      Stream.runDrain
    ),
    markDown: (reason) =>
      SubscriptionRef.update(ref, (health): DbHealth =>
        health._tag === "Down" ? health : { _tag: "Down", reason, since: new Date() }
      )
  })
}

function makeHealthRef() {
  return Effect.gen(function* () {
    const db = yield* Database
    const { database } = yield* AppConfig
    const ref = yield* SubscriptionRef.make<DbHealth>(up)
    const health = fromRef(ref)

    const pingSchedule = Schedule.spaced(database.pingInterval)
    const pingOnce = db.ping.pipe(
      Effect.timeout(database.pingTimeout),
      // Every way a ping can end, defects included, is an answer: the pinger never dies, or a
      // database marked down would never be seen coming back.
      Effect.matchCauseEffect({
        onSuccess: () => SubscriptionRef.set(ref, up),
        onFailure: (cause) => health.markDown(Cause.pretty(cause).split("\n")[0] ?? "ping failed")
      })
    )

    // The first ping runs before the layer is ready, so start-up knows the truth at once.
    yield* pingOnce
    yield* pingOnce.pipe(Effect.repeat(pingSchedule), Effect.forkScoped)

    yield* health.changes.pipe(
      Stream.runForEach((state) =>
        Effect.gen(function* () {
          yield* Metric.update(Metrics.dbUp, state._tag === "Up" ? 1 : 0)
          if (state._tag === "Up") yield* Effect.logInfo("database up")
          else
            yield* Effect.logError("database down").pipe(
              Effect.annotateLogs({ reason: state.reason })
            )
        })
      ),
      Effect.forkScoped
    )
    return health
  }).pipe(Effect.annotateLogs({ service: "HealthRef" }))
}
