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

/** The sample order of the Go service this design comes from. */
export const referenceOrder = {
  order_uid: "b563feb7b2b84b6test",
  track_number: "WBILMTESTTRACK",
  entry: "WBIL",
  delivery: {
    name: "Test Testov",
    phone: "+9720000000",
    zip: "2639809",
    city: "Kiryat Mozkin",
    address: "Ploshad Mira 15",
    region: "Kraiot",
    email: "test@gmail.com"
  },
  payment: {
    transaction: "b563feb7b2b84b6test",
    request_id: "",
    currency: "USD",
    provider: "wbpay",
    amount: 1817,
    payment_dt: 1637907727,
    bank: "alpha",
    delivery_cost: 1500,
    goods_total: 317,
    custom_fee: 0
  },
  items: [
    {
      chrt_id: 9934930,
      track_number: "WBILMTESTTRACK",
      price: 453,
      rid: "ab4219087a764ae0btest",
      name: "Mascaras",
      sale: 30,
      size: "0",
      total_price: 317,
      nm_id: 2389212,
      brand: "Vivienne Sabo",
      status: 202
    }
  ],
  locale: "en",
  internal_signature: "",
  customer_id: "test",
  delivery_service: "meest",
  shardkey: "9",
  sm_id: 99,
  date_created: "2021-11-26T06:22:19Z",
  oof_shard: "1"
}
