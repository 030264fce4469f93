/**
 * The order as it travels on the `orders` topic and as `GET /orders/:uid` returns it.
 * This schema is the single source of truth for the type, the validation rules, the JSON
 * encoding and (through `Arbitrary.schema`) the test data.
 */
import { Schema } from "effect"

const MAX_INT4 = 2_147_483_647

/** Text PostgreSQL can store and give back unchanged: lone surrogates would come back as U+FFFD. */
const WellFormed = Schema.String.check(
  Schema.makeFilter((s: string) => s.isWellFormed() || "a well-formed Unicode string", {
    expected: "a well-formed Unicode string"
  })
)

const NonEmpty = WellFormed.check(Schema.isNonEmpty())
const AnyText = WellFormed
const Alnum = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9]+$/, { expected: "letters and digits" })
)
const Uid = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9]{1,64}$/, { expected: "1 to 64 letters and digits" })
)
const Digits = Schema.String.check(Schema.isPattern(/^[0-9]+$/, { expected: "decimal digits" }))

const IntBetween = (min: number, max: number) =>
  Schema.Number.check(Schema.isInt(), Schema.isBetween({ minimum: min, maximum: max }))

const Money = IntBetween(0, MAX_INT4)

/**
 * BCP 47: language, optional script, region and variants, extensions, private use. The
 * pattern guides test-data generation; `Intl` then rejects what the grammar alone lets by
 * (a repeated variant, say).
 */
const Locale = Schema.String.check(
  Schema.isPattern(
    new RegExp(
      "^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?" +
        "(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$"
    ),
    { expected: "a BCP 47 language tag" }
  ),
  Schema.makeFilter((s: string) => isLanguageTag(s) || "a valid BCP 47 language tag", {
    expected: "a valid BCP 47 language tag"
  })
)

function isLanguageTag(s: string): boolean {
  try {
    return Intl.getCanonicalLocales(s).length === 1
  } catch {
    // RangeError is how Intl says "not a language tag"; nothing else can be thrown here.
    return false
  }
}

const Currency = Schema.Literals(Intl.supportedValuesOf("currency")).annotate({
  expected: "an ISO 4217 currency code"
})

const Phone = Schema.String.check(
  Schema.isPattern(/^\+[1-9][0-9]{1,14}$/, { expected: "an E.164 phone number" })
)

const Email = Schema.String.check(
  Schema.isPattern(
    /^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}$/,
    { expected: "an email address" }
  )
)

/** RFC 3339 date-time; the filter rejects calendar impossibilities such as February 30. */
const Timestamp = Schema.String.check(
  Schema.isPattern(
    new RegExp(
      "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])" + // date
        "[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]{1,9})?" + // time
        "([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$" // offset
    ),
    { expected: "an RFC 3339 timestamp" }
  ),
  Schema.makeFilter((s: string) => isCalendarDate(s) || "an existing calendar date", {
    expected: "an existing calendar date"
  })
)

function isCalendarDate(s: string): boolean {
  const year = Number(s.slice(0, 4))
  const month = Number(s.slice(5, 7))
  const day = Number(s.slice(8, 10))
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate()
}

export const Delivery = Schema.Struct({
  name: NonEmpty,
  phone: Phone,
  zip: Digits,
  city: NonEmpty,
  address: NonEmpty,
  region: NonEmpty,
  email: Email
})

export const Payment = Schema.Struct({
  transaction: Alnum,
  request_id: AnyText,
  currency: Currency,
  provider: NonEmpty,
  amount: Money,
  payment_dt: IntBetween(1, Number.MAX_SAFE_INTEGER),
  bank: NonEmpty,
  delivery_cost: Money,
  goods_total: Money,
  custom_fee: Money
})

export const Item = Schema.Struct({
  chrt_id: IntBetween(1, Number.MAX_SAFE_INTEGER),
  track_number: Alnum,
  price: Money,
  rid: Alnum,
  name: NonEmpty,
  sale: IntBetween(0, 100),
  size: NonEmpty,
  total_price: Money,
  nm_id: IntBetween(1, Number.MAX_SAFE_INTEGER),
  brand: NonEmpty,
  status: IntBetween(-MAX_INT4 - 1, MAX_INT4)
})

export const DEFAULT_MAX_ITEMS = 1000

/** The order schema with its item cap; the cap is configuration (`ORDER_MAX_ITEMS`). */
export const makeOrderSchema = (maxItems: number) =>
  Schema.Struct({
    order_uid: Uid,
    track_number: Uid,
    entry: NonEmpty,
    delivery: Delivery,
    payment: Payment,
    items: Schema.Array(Item).check(Schema.isBetweenLength(1, maxItems)),
    locale: Locale,
    internal_signature: AnyText,
    customer_id: NonEmpty,
    delivery_service: NonEmpty,
    shardkey: Digits,
    sm_id: IntBetween(1, MAX_INT4),
    date_created: Timestamp,
    oof_shard: Digits
  })

export const Order = makeOrderSchema(DEFAULT_MAX_ITEMS)
export type Order = typeof Order.Type
export type Delivery = typeof Delivery.Type
export type Payment = typeof Payment.Type
export type Item = typeof Item.Type

/** The lookup key, as accepted at the HTTP edge. */
export const OrderUid = Uid
