/**
 * The order store over PostgreSQL. Errors leave this module only as the sentinel errors of
 * `domain/errors.ts`; per-order outcomes of a batch are values, so one bad order never fails
 * the others.
 */
import { PgClient } from "@effect/sql-pg"
import { Context, Duration, Effect, Layer, Metric } from "effect"
import * as Reactivity from "effect/reactivity/Reactivity"
import { SqlClient } from "effect/sql/SqlClient"
import { AppConfig, type AppConfigShape } from "../config/AppConfig.ts"
import {
  DatabaseUnavailable,
  InvalidOrder,
  OrderAlreadyExists,
  OrderNotFound
} from "../domain/errors.ts"
import type { Order } from "../domain/Order.ts"
import * as Metrics from "../metrics/metrics.ts"
import * as Rows from "./rows.ts"
import { classifySqlError } from "./sqlErrors.ts"

/** What became of one order of a batch, in the batch's order. */
export type InsertOutcome =
  | { readonly _tag: "Inserted"; readonly orderUid: string }
  /** The same content was stored before: a redelivery, and a success. */
  | { readonly _tag: "AlreadyStored"; readonly orderUid: string }
  | { readonly _tag: "Rejected"; readonly error: OrderAlreadyExists | InvalidOrder }

export interface StoredOrderJson {
  readonly orderUid: string
  /** The order in its ingested shape, compact JSON. */
  readonly json: string
}

export interface DatabaseShape {
  /** Stores a batch in one transaction; falls back to smaller ones to isolate bad data. */
  readonly insertOrders: (
    orders: ReadonlyArray<Order>
  ) => Effect.Effect<ReadonlyArray<InsertOutcome>, DatabaseUnavailable>
  readonly findOrder: (
    orderUid: string
  ) => Effect.Effect<string, OrderNotFound | DatabaseUnavailable>
  /** The most recently stored orders, newest first. */
  readonly latestOrders: (
    limit: number
  ) => Effect.Effect<ReadonlyArray<StoredOrderJson>, DatabaseUnavailable>
  readonly ping: Effect.Effect<void, DatabaseUnavailable>
}

/** A batch statement failed for one of its orders' data; bisect to find which. */
class BatchDataError {
  readonly _tag = "BatchDataError"
  readonly detail: string
  constructor(detail: string) {
    this.detail = detail
  }
}

export class Database extends Context.Service<Database, DatabaseShape>()("order-service/Database") {
  /** Needs a `SqlClient` (see `layer` for one built from `AppConfig`). */
  static readonly layerNoDeps = Layer.effect(Database, makeDatabase())

  static readonly layer = Database.layerNoDeps.pipe(Layer.provide(pgClientLayer()))
}

function makeDatabase() {
  return Effect.gen(function* () {
    const sql = yield* SqlClient
    const config = yield* AppConfig
    const timeout = config.database.statementTimeout

    /** A hung connection reads as the database being down, not as a stalled partition. */
    const withDeadline = <A, E>(operation: string, effect: Effect.Effect<A, E>) =>
      Effect.timeoutOrElse(effect, {
        duration: timeout,
        orElse: () =>
          Effect.fail(
            new DatabaseUnavailable({
              operation,
              detail: `no answer within ${Duration.format(timeout)}`
            })
          )
      })

    /**
     * The one wrapper every operation goes through: a deadline (unless the operation sets its
     * own per transaction), a duration metric, a span, and driver errors mapped to our own.
     */
    const run = <A>(
      operation: string,
      effect: Effect.Effect<A, unknown>,
      { ownDeadlines = false } = {}
    ): Effect.Effect<A, DatabaseUnavailable> =>
      (ownDeadlines ? effect : withDeadline(operation, effect)).pipe(
        Effect.catch((error: unknown) => {
          if (error instanceof DatabaseUnavailable) return Effect.fail(error)
          const failure = classifySqlError(error)
          if (failure._tag === "Unavailable") {
            return Effect.fail(new DatabaseUnavailable({ operation, detail: failure.detail }))
          }
          return Effect.die(error)
        }),
        // A transaction whose connection died fails its ROLLBACK too, and the driver reports
        // that as a defect. It is still the database going away, not a bug.
        Effect.catchDefect((defect) => {
          const failure = classifySqlError(defect)
          return failure._tag === "Unavailable"
            ? Effect.fail(new DatabaseUnavailable({ operation, detail: failure.detail }))
            : Effect.die(defect)
        }),
        Effect.tapError(() => Metric.update(Metrics.dbTransientErrors, 1)),
        Metrics.trackSeconds(Metrics.dbQueryDuration.pipe(Metric.withAttributes({ operation }))),
        Effect.withSpan(`Database.${operation}`)
      )

    const insertBatch = (orders: ReadonlyArray<Order>) =>
      Effect.gen(function* () {
        const inserted = yield* sql<{ id: string; order_uid: string; hash: string }>`
          INSERT INTO orders (
            order_uid, track_number, entry, locale, internal_signature, customer_id,
            delivery_service, shardkey, sm_id, date_created, oof_shard, content_sha256)
          SELECT r.order_uid, r.track_number, r.entry, r.locale, r.internal_signature,
            r.customer_id, r.delivery_service, r.shardkey, r.sm_id, r.date_created,
            r.oof_shard, decode(r.content_sha256, 'hex')
          FROM jsonb_to_recordset(${JSON.stringify(orders.map(Rows.orderRow))}::jsonb)
            AS r(${sql.literal(Rows.ORDERS_RECORD)})
          ON CONFLICT (order_uid) DO NOTHING
          RETURNING id, order_uid, encode(content_sha256, 'hex') AS hash`
        // A uid may come twice in one batch (a redelivery, or a conflicting copy): the row
        // PostgreSQL kept is the one whose hash it returned; every other copy is compared.
        const hashes = orders.map(Rows.contentHash)
        const idOf = new Map(inserted.map((row) => [row.order_uid, String(row.id)]))
        const storedHash = new Map(inserted.map((row) => [row.order_uid, row.hash]))
        const winners = new Set<number>()
        const claimed = new Set<string>() // later identical copies are redeliveries
        for (const [i, order] of orders.entries()) {
          const uid = order.order_uid
          if (idOf.has(uid) && storedHash.get(uid) === hashes[i] && !claimed.has(uid)) {
            winners.add(i)
            claimed.add(uid)
          }
        }
        const newOrders = [...winners].map((i) => orders[i]!)
        const rowsFor = <R>(f: (id: string, order: Order) => R) =>
          JSON.stringify(newOrders.map((o) => f(idOf.get(o.order_uid)!, o)))

        if (newOrders.length > 0) {
          yield* sql`
            INSERT INTO deliveries
            SELECT * FROM jsonb_to_recordset(${rowsFor(Rows.deliveryRow)}::jsonb)
              AS r(${sql.literal(Rows.DELIVERIES_RECORD)})`
          yield* sql`
            INSERT INTO payments
            SELECT * FROM jsonb_to_recordset(${rowsFor(Rows.paymentRow)}::jsonb)
              AS r(${sql.literal(Rows.PAYMENTS_RECORD)})`
          const items = newOrders.flatMap((o) => Rows.itemRows(idOf.get(o.order_uid)!, o))
          yield* sql`
            INSERT INTO items
            SELECT * FROM jsonb_to_recordset(${JSON.stringify(items)}::jsonb)
              AS r(${sql.literal(Rows.ITEMS_RECORD)})`
        }

        const unknown = orders.filter((order) => !storedHash.has(order.order_uid))
        if (unknown.length > 0) {
          const existing = yield* sql<{ order_uid: string; hash: string }>`
            SELECT order_uid, encode(content_sha256, 'hex') AS hash FROM orders
            WHERE order_uid IN ${sql.in(unknown.map((order) => order.order_uid))}`
          for (const row of existing) storedHash.set(row.order_uid, row.hash)
        }

        return orders.map((order, i): InsertOutcome => {
          if (winners.has(i)) return { _tag: "Inserted", orderUid: order.order_uid }
          return storedHash.get(order.order_uid) === hashes[i]
            ? { _tag: "AlreadyStored", orderUid: order.order_uid }
            : { _tag: "Rejected", error: new OrderAlreadyExists({ orderUid: order.order_uid }) }
        })
      }).pipe(
        sql.withTransaction,
        // Per transaction: bisecting a batch runs several, each gets the full deadline.
        (transaction) => withDeadline("insertOrders", transaction),
        Effect.catch((error: unknown) => {
          const failure = classifySqlError(error)
          return failure._tag === "Data"
            ? Effect.fail(new BatchDataError(failure.detail))
            : Effect.fail(error)
        })
      )

    /**
     * Stores `orders`; when the batch fails for its data, splits it in halves until each
     * bad order stands alone and is rejected by itself, so the good ones are still stored.
     */
    const insertIsolating = (
      orders: ReadonlyArray<Order>
    ): Effect.Effect<ReadonlyArray<InsertOutcome>, unknown> =>
      insertBatch(orders).pipe(
        Effect.catch((error: unknown) => {
          if (!(error instanceof BatchDataError)) return Effect.fail(error)
          const [only] = orders
          if (orders.length === 1 && only !== undefined) {
            return Effect.succeed([
              {
                _tag: "Rejected",
                error: new InvalidOrder({
                  path: "$",
                  reason: `rejected by the database: ${error.detail}`
                })
              } as const
            ])
          }
          const middle = Math.ceil(orders.length / 2)
          return Effect.map(
            Effect.all([
              insertIsolating(orders.slice(0, middle)),
              insertIsolating(orders.slice(middle))
            ]),
            ([left, right]) => [...left, ...right]
          )
        })
      )

    const insertOrders = (orders: ReadonlyArray<Order>) =>
      orders.length === 0
        ? Effect.succeed([])
        : run("insertOrders", insertIsolating(orders), { ownDeadlines: true }).pipe(
            Effect.annotateSpans({ "orders.count": orders.length })
          )

    const findOrder = (orderUid: string) =>
      run(
        "findOrder",
        sql<{ body: string }>`
          SELECT ${sql.literal(Rows.ORDER_JSON)} AS body
          FROM orders o
          JOIN deliveries d ON d.order_id = o.id
          JOIN payments p ON p.order_id = o.id
          WHERE o.order_uid = ${orderUid}`
      ).pipe(
        Effect.flatMap(([row]) =>
          row === undefined
            ? Effect.fail(new OrderNotFound({ orderUid }))
            : Effect.succeed(compact(row.body))
        ),
        Effect.annotateSpans({ "order.uid": orderUid })
      )

    const latestOrders = (limit: number) =>
      run(
        "latestOrders",
        sql<{ order_uid: string; body: string }>`
          SELECT o.order_uid, ${sql.literal(Rows.ORDER_JSON)} AS body
          FROM (SELECT * FROM orders ORDER BY stored_at DESC, id DESC LIMIT ${limit}) o
          JOIN deliveries d ON d.order_id = o.id
          JOIN payments p ON p.order_id = o.id
          ORDER BY o.stored_at DESC, o.id DESC`
      ).pipe(
        Effect.map((rows) =>
          rows.map((row) => ({ orderUid: row.order_uid, json: compact(row.body) }))
        )
      )

    // The health check has a connection of its own: a pool kept busy by stores and lookups
    // must not make a healthy database look down (and pause consumption for nothing).
    const pingClient = yield* PgClient.make({
      ...connectionSettings(config.database),
      applicationName: "order-service-health",
      maxConnections: 1
    }).pipe(Effect.provide(Reactivity.layer))
    const ping = run("ping", pingClient`SELECT 1`).pipe(Effect.asVoid)

    return Database.of({ insertOrders, findOrder, latestOrders, ping })
  })
}

/** PostgreSQL's json text has spaces after separators; the cache and clients want it compact. */
const compact = (json: string): string => JSON.stringify(JSON.parse(json))

/** Settings of every connection: a server-side statement timeout as a second deadline. */
const connectionSettings = (database: AppConfigShape["database"]) => ({
  url: database.url,
  connectTimeout: database.pingTimeout,
  applicationName: "order-service",
  startupParameters: {
    statement_timeout: String(Duration.toMillis(database.statementTimeout))
  }
})

/** The pool from `AppConfig` that stores and lookups share. */
export function pgClientLayer() {
  return Layer.unwrap(
    Effect.gen(function* () {
      const { database } = yield* AppConfig
      return PgClient.layer({ ...connectionSettings(database), maxConnections: database.poolMax })
    })
  )
}
