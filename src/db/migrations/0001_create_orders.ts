/**
 * The order tables. Columns are NOT NULL wherever the order schema requires a value; CHECKs
 * repeat the numeric ranges so that data written around the service stays readable by it.
 */
import { Effect } from "effect"
import { SqlClient } from "effect/sql/SqlClient"

export default Effect.gen(function* () {
  const sql = yield* SqlClient
  yield* sql`
    CREATE TABLE orders (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      order_uid text NOT NULL,
      track_number text NOT NULL,
      entry text NOT NULL,
      locale text NOT NULL,
      internal_signature text NOT NULL,
      customer_id text NOT NULL,
      delivery_service text NOT NULL,
      shardkey text NOT NULL,
      sm_id integer NOT NULL CHECK (sm_id >= 1),
      date_created text NOT NULL,
      oof_shard text NOT NULL,
      content_sha256 bytea NOT NULL,
      stored_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT orders_order_uid_key UNIQUE (order_uid)
    )`
  yield* sql`
    CREATE TABLE deliveries (
      order_id bigint PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
      name text NOT NULL,
      phone text NOT NULL,
      zip text NOT NULL,
      city text NOT NULL,
      address text NOT NULL,
      region text NOT NULL,
      email text NOT NULL
    )`
  yield* sql`
    CREATE TABLE payments (
      order_id bigint PRIMARY KEY REFERENCES orders (id) ON DELETE CASCADE,
      transaction text NOT NULL,
      request_id text NOT NULL,
      currency text NOT NULL,
      provider text NOT NULL,
      amount integer NOT NULL CHECK (amount >= 0),
      payment_dt bigint NOT NULL CHECK (payment_dt > 0),
      bank text NOT NULL,
      delivery_cost integer NOT NULL CHECK (delivery_cost >= 0),
      goods_total integer NOT NULL CHECK (goods_total >= 0),
      custom_fee integer NOT NULL CHECK (custom_fee >= 0)
    )`
  yield* sql`
    CREATE TABLE items (
      order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
      position integer NOT NULL,
      chrt_id bigint NOT NULL CHECK (chrt_id >= 1),
      track_number text NOT NULL,
      price integer NOT NULL CHECK (price >= 0),
      rid text NOT NULL,
      name text NOT NULL,
      sale smallint NOT NULL CHECK (sale BETWEEN 0 AND 100),
      size text NOT NULL,
      total_price integer NOT NULL CHECK (total_price >= 0),
      nm_id bigint NOT NULL CHECK (nm_id >= 1),
      brand text NOT NULL,
      status integer NOT NULL,
      PRIMARY KEY (order_id, position)
    )`
  // "Latest N orders" (cache warm-up) walks this index backwards and stops after N rows.
  yield* sql`CREATE INDEX orders_stored_at_idx ON orders (stored_at DESC, id DESC)`
})
