/**
 * The order cache in front of the database: an LRU of each order's serialized JSON bytes, so
 * that a hit is served as is and the per-entry byte cap is exact. Orders are immutable once
 * stored, so entries are never invalidated, only evicted.
 */
import { Context, Deferred, Effect, Layer, Metric, Option, Schedule } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import { Database } from "../db/Database.ts"
import type { DatabaseUnavailable, OrderNotFound } from "../domain/errors.ts"
import * as Metrics from "../metrics/metrics.ts"
import { Lru, type LruStats } from "./Lru.ts"

export interface CacheStats extends LruStats {
  readonly hits: number
  readonly misses: number
  readonly maxEntries: number
  readonly maxEntryBytes: number
}

export type LoadError = OrderNotFound | DatabaseUnavailable

export interface CacheShape {
  /** The cached JSON bytes of an order, counted as a hit or a miss. */
  readonly get: (orderUid: string) => Effect.Effect<Option.Option<Uint8Array>>
  /**
   * Holds an order's JSON (as stored: the ingested shape) unless it is above
   * `CACHE_MAX_ENTRY_BYTES`. The consumer calls it after a successful insert when
   * `CACHE_FILL_ON_INSERT` is true.
   */
  readonly set: (orderUid: string, json: string) => Effect.Effect<void>
  /**
   * Cache-aside read: the cached bytes, else the database's answer, which is then cached.
   * Concurrent misses on one uid share one query; a caller that gives up (is interrupted)
   * does not cancel the query for the others.
   */
  readonly getOrLoad: (orderUid: string) => Effect.Effect<Uint8Array, LoadError>
  readonly stats: Effect.Effect<CacheStats>
  /** Completes once the start-up warm-up has filled the cache or given up. */
  readonly warmedUp: Effect.Effect<void>
}

/** Warm-up waits out a database that is down at start, then gives up (about a minute). */
export const warmUpRetry = Schedule.exponential("1 second").pipe(Schedule.upTo({ times: 6 }))

const utf8 = new TextEncoder()
const getDuration = Metrics.cacheOperationDuration.pipe(Metric.withAttributes({ operation: "get" }))
const setDuration = Metrics.cacheOperationDuration.pipe(Metric.withAttributes({ operation: "set" }))

export class Cache extends Context.Service<Cache, CacheShape>()("order-service/Cache") {
  /**
   * Needs `Database` and `AppConfig`. Starts the warm-up in the background, so a database
   * that is down at start delays the warm-up, never start-up.
   */
  static readonly layer = Layer.effect(Cache, makeCache())
}

function makeCache() {
  return Effect.gen(function* () {
    const db = yield* Database
    const { cache: settings } = yield* AppConfig
    const scope = yield* Effect.scope
    const lru = new Lru<string, Uint8Array>({
      maxEntries: settings.maxEntries,
      maxEntryBytes: settings.maxEntryBytes,
      sizeOf: (bytes) => bytes.byteLength
    })
    const inflight = new Map<string, Deferred.Deferred<Uint8Array, LoadError>>()
    let hits = 0
    let misses = 0

    const lookup = (orderUid: string) =>
      Effect.sync(() => Option.fromUndefinedOr(lru.get(orderUid))).pipe(
        Metrics.trackSeconds(getDuration),
        Effect.tap((found) => {
          if (Option.isSome(found)) hits++
          else misses++
          return Metric.update(Option.isSome(found) ? Metrics.cacheHits : Metrics.cacheMisses, 1)
        })
      )

    const store = (orderUid: string, bytes: Uint8Array) =>
      Effect.sync(() => lru.set(orderUid, bytes)).pipe(
        Metrics.trackSeconds(setDuration),
        Effect.andThen(() => Metric.update(Metrics.cacheEntries, lru.size))
      )

    const set = (orderUid: string, json: string) => store(orderUid, utf8.encode(json))

    /**
     * The one query for `orderUid`, run in the cache's own scope so no caller can cancel it.
     * Registering and forking are uninterruptible: a registered load always has its fiber.
     */
    const load = (orderUid: string): Effect.Effect<Uint8Array, LoadError> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const pending = inflight.get(orderUid)
          if (pending !== undefined) return restore(Deferred.await(pending))
          // Registered before anything can yield, so a concurrent miss finds it.
          const deferred = Deferred.makeUnsafe<Uint8Array, LoadError>()
          inflight.set(orderUid, deferred)
          const query = db.findOrder(orderUid).pipe(
            Effect.map((json) => utf8.encode(json)),
            Effect.tap((bytes) => store(orderUid, bytes))
          )
          return Effect.forkIn(query, scope).pipe(
            Effect.flatMap((fiber) => {
              // An observer also sees a fiber that never started (its scope closing at
              // shutdown), so no caller is left waiting.
              fiber.addObserver((exit) => {
                inflight.delete(orderUid)
                Deferred.doneUnsafe(deferred, exit)
              })
              return restore(Deferred.await(deferred))
            })
          )
        })
      )

    const getOrLoad = (orderUid: string) =>
      lookup(orderUid).pipe(
        Effect.flatMap(Option.match({ onSome: Effect.succeed, onNone: () => load(orderUid) }))
      )

    const stats = Effect.sync((): CacheStats => ({
      ...lru.stats(),
      hits,
      misses,
      maxEntries: lru.maxEntries,
      maxEntryBytes: lru.maxEntryBytes
    }))

    const warmed = yield* Deferred.make<void>()
    const limit = Math.min(settings.warmEntries, settings.maxEntries)
    const warmUp = Effect.gen(function* () {
      if (limit === 0) return
      const latest = yield* db.latestOrders(limit).pipe(
        Effect.tapError((error) =>
          Effect.logWarning("cache warm-up postponed").pipe(
            Effect.annotateLogs({ reason: error.message })
          )
        ),
        Effect.retry(warmUpRetry)
      )
      // Oldest first, so that the newest orders end up the most recently used.
      for (const entry of latest.toReversed()) yield* set(entry.orderUid, entry.json)
      yield* Effect.logInfo("cache warmed").pipe(
        Effect.annotateLogs({ loaded: latest.length, entries: lru.size })
      )
    }).pipe(
      Effect.catchTag("DatabaseUnavailable", (error) =>
        Effect.logWarning("cache warm-up given up").pipe(
          Effect.annotateLogs({ reason: error.message })
        )
      ),
      Effect.ensuring(Deferred.succeed(warmed, undefined)),
      Effect.withSpan("Cache.warmUp")
    )
    yield* Metric.update(Metrics.cacheEntries, 0)
    yield* Effect.forkIn(warmUp, scope)

    return Cache.of({
      get: lookup,
      set,
      getOrLoad,
      stats,
      warmedUp: Deferred.await(warmed)
    })
  }).pipe(Effect.annotateLogs({ service: "Cache" }))
}
