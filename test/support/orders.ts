/**
 * Test orders, drawn from the order schema itself so that they follow its rules exactly.
 */
import { Arbitrary, Effect } from "effect"
import { type Order, Order as OrderSchema } from "../../src/domain/Order.ts"

/** Any valid order, including text PostgreSQL refuses (NUL) — the schema allows it. */
export const anyOrder = Arbitrary.schema(OrderSchema)

/**
 * Valid orders PostgreSQL can store: NUL (U+0000) is legal JSON text but not legal in a
 * PostgreSQL text column, so it is replaced here. The store tests for NUL on their own.
 */
export const storableOrder = Arbitrary.map(anyOrder, (order) => withoutNul(order))

export const withoutNul = (order: Order): Order =>
  JSON.parse(JSON.stringify(order).replaceAll("\\u0000", "0")) as Order

/** `count` storable orders with distinct uids, reproducible from `seed`. */
export const sampleOrders = (count: number, seed: number = 1) =>
  Arbitrary.sampleEffect(storableOrder, { count, size: 4, seed }).pipe(
    Effect.map((orders) =>
      orders.map((order, i) => ({ ...order, order_uid: `${order.order_uid.slice(0, 50)}x${i}` }))
    ),
    Effect.orDie
  )
