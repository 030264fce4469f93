/**
 * How an order maps onto the four tables, both ways. Writes go through `jsonb_to_recordset`
 * so that a whole batch is one statement per table whatever its size (no 65535-parameter
 * ceiling); reads build the ingested JSON shape in SQL with `json_build_object`, which keeps
 * key order (jsonb would not).
 */
import { createHash } from "node:crypto"
import type { Order } from "../domain/Order.ts"

/** JSON with keys sorted at every depth, so equal orders hash equally whatever the key order. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v
  )

/** What tells an identical redelivery (success) from a conflicting duplicate (rejected). */
export const contentHash = (order: Order): string =>
  createHash("sha256").update(canonicalJson(order)).digest("hex")

export const orderRow = (order: Order) => ({
  order_uid: order.order_uid,
  track_number: order.track_number,
  entry: order.entry,
  locale: order.locale,
  internal_signature: order.internal_signature,
  customer_id: order.customer_id,
  delivery_service: order.delivery_service,
  shardkey: order.shardkey,
  sm_id: order.sm_id,
  date_created: order.date_created,
  oof_shard: order.oof_shard,
  content_sha256: contentHash(order)
})

export const deliveryRow = (orderId: string, order: Order) => ({
  order_id: orderId,
  ...order.delivery
})

export const paymentRow = (orderId: string, order: Order) => ({
  order_id: orderId,
  ...order.payment
})

export const itemRows = (orderId: string, order: Order) =>
  order.items.map((item, position) => ({ order_id: orderId, position, ...item }))

export const ORDERS_RECORD = `
  order_uid text, track_number text, entry text, locale text, internal_signature text,
  customer_id text, delivery_service text, shardkey text, sm_id integer, date_created text,
  oof_shard text, content_sha256 text`

export const DELIVERIES_RECORD = `
  order_id bigint, name text, phone text, zip text, city text, address text, region text,
  email text`

export const PAYMENTS_RECORD = `
  order_id bigint, transaction text, request_id text, currency text, provider text,
  amount integer, payment_dt bigint, bank text, delivery_cost integer, goods_total integer,
  custom_fee integer`

export const ITEMS_RECORD = `
  order_id bigint, position integer, chrt_id bigint, track_number text, price integer,
  rid text, name text, sale smallint, size text, total_price integer, nm_id bigint,
  brand text, status integer`

/** The SELECT list that turns `o`, `d`, `p` (and the order's items) into the ingested JSON. */
export const ORDER_JSON = `
  json_build_object(
    'order_uid', o.order_uid,
    'track_number', o.track_number,
    'entry', o.entry,
    'delivery', json_build_object(
      'name', d.name, 'phone', d.phone, 'zip', d.zip, 'city', d.city,
      'address', d.address, 'region', d.region, 'email', d.email),
    'payment', json_build_object(
      'transaction', p.transaction, 'request_id', p.request_id, 'currency', p.currency,
      'provider', p.provider, 'amount', p.amount, 'payment_dt', p.payment_dt, 'bank', p.bank,
      'delivery_cost', p.delivery_cost, 'goods_total', p.goods_total,
      'custom_fee', p.custom_fee),
    'items', (
      SELECT json_agg(json_build_object(
        'chrt_id', i.chrt_id, 'track_number', i.track_number, 'price', i.price,
        'rid', i.rid, 'name', i.name, 'sale', i.sale, 'size', i.size,
        'total_price', i.total_price, 'nm_id', i.nm_id, 'brand', i.brand,
        'status', i.status) ORDER BY i.position)
      FROM items i WHERE i.order_id = o.id),
    'locale', o.locale,
    'internal_signature', o.internal_signature,
    'customer_id', o.customer_id,
    'delivery_service', o.delivery_service,
    'shardkey', o.shardkey,
    'sm_id', o.sm_id,
    'date_created', o.date_created,
    'oof_shard', o.oof_shard
  )::text`
