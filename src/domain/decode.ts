/**
 * The edge where untrusted bytes become an `Order`: UTF-8, then JSON, then the schema.
 * Every failure at every step is an `InvalidOrder`; nothing here throws, whatever the bytes.
 */
import { Effect, Schema, SchemaIssue } from "effect"
import { InvalidOrder } from "./errors.ts"
import { makeOrderSchema, type Order } from "./Order.ts"

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/** Renders a schema issue as the JSONPath of its first failure and what was expected there. */
export const toInvalidOrder = (issue: SchemaIssue.Issue): InvalidOrder => {
  const [first] = formatIssue(issue).issues
  if (first === undefined) return new InvalidOrder({ path: "$", reason: "invalid order" })
  const path = (first.path ?? []).reduce<string>((acc, segment) => {
    const key = typeof segment === "object" ? segment.key : segment
    return typeof key === "number" ? `${acc}[${key}]` : `${acc}.${String(key)}`
  }, "$")
  return new InvalidOrder({ path, reason: first.message })
}

/** A decoder bound to an item cap; build it once and reuse it for every message. */
export const makeOrderDecoder = (maxItems: number) => {
  const decode = Schema.decodeUnknownEffect(makeOrderSchema(maxItems))
  const options = { onExcessProperty: "error", errors: "first" } as const

  const fromJson = (json: unknown): Effect.Effect<Order, InvalidOrder> =>
    decode(json, options).pipe(Effect.mapError((error) => toInvalidOrder(error.issue)))

  const fromText = (text: string): Effect.Effect<Order, InvalidOrder> =>
    Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: (error) =>
        new InvalidOrder({ path: "$", reason: `not JSON: ${(error as SyntaxError).message}` })
    }).pipe(Effect.flatMap(fromJson))

  const fromBytes = (bytes: Uint8Array | null): Effect.Effect<Order, InvalidOrder> => {
    if (bytes === null || bytes.length === 0) {
      return Effect.fail(new InvalidOrder({ path: "$", reason: "empty message" }))
    }
    return Effect.try({
      try: () => utf8.decode(bytes),
      catch: () => new InvalidOrder({ path: "$", reason: "not valid UTF-8" })
    }).pipe(Effect.flatMap(fromText))
  }

  return { fromJson, fromText, fromBytes } as const
}

/**
 * Serializes an order in its ingested JSON shape. A decoded order carries the schema's key
 * order, which is also the order the database builds on read, so both give the same bytes.
 */
export const encodeOrderJson = (order: Order): string => JSON.stringify(order)
