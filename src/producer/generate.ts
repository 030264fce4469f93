/**
 * Demo and test traffic: orders that look like a shop's, plus the kinds of bad input a real
 * topic sees. Seeded, so a test run can be replayed exactly.
 */
import type { Order } from "../domain/Order.ts"

/** mulberry32: tiny, fast and good enough to make test data reproducible. */
export const makeRandom = (seed: number) => {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  const pick = <A>(items: ReadonlyArray<A>): A => items[int(0, items.length - 1)]!
  const alnum = (length: number) =>
    Array.from({ length }, () => pick([..."abcdefghijklmnopqrstuvwxyz0123456789"])).join("")
  return { next, int, pick, alnum }
}
export type Random = ReturnType<typeof makeRandom>

const FIRST = ["Anna", "Ivan", "Maria", "Oleg", "Sofia", "Dmitry", "Elena", "Pavel", "Olga"]
const LAST = ["Petrova", "Smirnov", "Ivanova", "Kuznetsov", "Popova", "Volkov", "Sokolova"]
const CITIES = [
  ["Moscow", "Moscow Oblast"],
  ["Kazan", "Tatarstan"],
  ["Novosibirsk", "Novosibirsk Oblast"],
  ["Yekaterinburg", "Sverdlovsk Oblast"],
  ["Tel Aviv", "Tel Aviv District"]
] as const
const STREETS = ["Lenina", "Mira", "Pushkina", "Gagarina", "Sadovaya", "Tverskaya"]
const BRANDS = ["Vivienne Sabo", "Nivea", "Xiaomi", "Lego", "Adidas", "Bosch", "Zara"]
const PRODUCTS = ["Mascara", "Hand cream", "Power bank", "Bricks set", "Sneakers", "Drill"]
const SIZES = ["0", "S", "M", "L", "XL", "42", "one size"]
const CURRENCIES = ["RUB", "USD", "EUR", "KZT"]
const LOCALES = ["ru", "en", "en-US", "kk-KZ", "he"]
const BANKS = ["alpha", "sber", "tinkoff", "vtb"]

/** A valid order, different for every `(random state, index)`. */
export const realisticOrder = (random: Random, index: number): Order => {
  const uid = `${random.alnum(12)}${index.toString(36)}`
  const track = `WB${random.alnum(10).toUpperCase()}`
  const [city, region] = random.pick(CITIES)
  const first = random.pick(FIRST)
  const last = random.pick(LAST)
  const items = Array.from({ length: random.int(1, 4) }, () => {
    const price = random.int(100, 20_000)
    const sale = random.pick([0, 0, 10, 25, 30, 50])
    return {
      chrt_id: random.int(1_000_000, 9_999_999),
      track_number: track,
      price,
      rid: random.alnum(20),
      name: random.pick(PRODUCTS),
      sale,
      size: random.pick(SIZES),
      total_price: Math.round((price * (100 - sale)) / 100),
      nm_id: random.int(100_000, 9_999_999),
      brand: random.pick(BRANDS),
      status: random.pick([200, 202, 400])
    }
  })
  const goods = items.reduce((sum, item) => sum + item.total_price, 0)
  const deliveryCost = random.pick([0, 300, 1500])
  return {
    order_uid: uid,
    track_number: track,
    entry: "WBIL",
    delivery: {
      name: `${first} ${last}`,
      phone: `+7${random.int(900_000_0000, 999_999_9999)}`,
      zip: String(random.int(100_000, 999_999)),
      city,
      address: `${random.pick(STREETS)} st. ${random.int(1, 120)}`,
      region,
      email: `${first.toLowerCase()}.${random.alnum(4)}@example.com`
    },
    payment: {
      transaction: uid,
      request_id: "",
      currency: random.pick(CURRENCIES),
      provider: "wbpay",
      amount: goods + deliveryCost,
      payment_dt: 1_700_000_000 + random.int(0, 50_000_000),
      bank: random.pick(BANKS),
      delivery_cost: deliveryCost,
      goods_total: goods,
      custom_fee: 0
    },
    items,
    locale: random.pick(LOCALES),
    internal_signature: "",
    customer_id: `customer${random.int(1, 50_000)}`,
    delivery_service: random.pick(["meest", "cdek", "boxberry"]),
    shardkey: String(random.int(0, 9)),
    sm_id: random.int(1, 200),
    date_created: new Date(Date.UTC(2026, 0, 1) + random.int(0, 3e10)).toISOString(),
    oof_shard: String(random.int(0, 9))
  }
}

/** Ways a JSON order can be wrong, each a rule of the schema; `path` is where it breaks. */
export const invalidKinds = [
  { kind: "missing_field", path: "$.customer_id", apply: (o: any) => delete o.customer_id },
  { kind: "bad_phone", path: "$.delivery.phone", apply: (o: any) => (o.delivery.phone = "12-34") },
  {
    kind: "bad_currency",
    path: "$.payment.currency",
    apply: (o: any) => (o.payment.currency = "DOLLARS")
  },
  { kind: "unknown_field", path: "$.coupon", apply: (o: any) => (o.coupon = "FREE") },
  { kind: "negative_price", path: "$.items[0].price", apply: (o: any) => (o.items[0].price = -1) },
  { kind: "no_items", path: "$.items", apply: (o: any) => (o.items = []) },
  { kind: "bad_uid", path: "$.order_uid", apply: (o: any) => (o.order_uid = "has spaces!") },
  { kind: "wrong_type", path: "$.sm_id", apply: (o: any) => (o.sm_id = "99") }
] as const satisfies ReadonlyArray<{ kind: string; path: string; apply: (o: any) => unknown }>

/** A valid order broken by one rule; the result is JSON text. */
export const invalidOrderJson = (random: Random, index: number) => {
  const variant = invalidKinds[index % invalidKinds.length]!
  const order = structuredClone(realisticOrder(random, index)) as any
  variant.apply(order)
  return { kind: variant.kind, path: variant.path, json: JSON.stringify(order) }
}

/** Bytes that are not an order at all: binary noise, truncated JSON, other documents. */
export const gibberish = (random: Random, index: number): Buffer => {
  switch (index % 4) {
    case 0:
      return Buffer.from(Array.from({ length: random.int(1, 64) }, () => random.int(0, 255)))
    case 1:
      return Buffer.from(JSON.stringify(realisticOrder(random, index)).slice(0, 40))
    case 2:
      return Buffer.from(`hello ${random.alnum(8)}`)
    default:
      return Buffer.from(JSON.stringify([1, 2, 3]))
  }
}
