/**
 * A topic's worth of mixed traffic and what the service must make of it: which orders end
 * up stored, which messages end up dead-lettered and why.
 */
import type { Message } from "kafkajs"
import type { Order } from "../../src/domain/Order.ts"
import {
  gibberish,
  invalidOrderJson,
  makeRandom,
  realisticOrder
} from "../../src/producer/generate.ts"

export interface Traffic {
  readonly messages: ReadonlyArray<Message>
  /** Orders that must be stored, exactly once each, by uid. */
  readonly stored: ReadonlyMap<string, Order>
  /** How many dead letters each reason must have. */
  readonly deadLetters: Readonly<Record<"invalid" | "already_exists", number>>
}

/**
 * `total` messages: ~10% invalid orders of every kind, some gibberish, some identical
 * redeliveries (success, not duplicates) and some conflicting duplicates (same uid, other
 * content: dead-lettered as already_exists).
 */
export const mixedTraffic = (total: number, seed = 42): Traffic => {
  const random = makeRandom(seed)
  const messages: Array<Message> = []
  const stored = new Map<string, Order>()
  const deadLetters = { invalid: 0, already_exists: 0 }
  const validSoFar: Array<Order> = []
  for (let i = 0; messages.length < total; i++) {
    const roll = random.next()
    if (roll < 0.08) {
      const bad = invalidOrderJson(random, i)
      messages.push({ key: `invalid-${i}`, value: bad.json })
      deadLetters.invalid++
    } else if (roll < 0.1) {
      messages.push({ key: null, value: gibberish(random, i) })
      deadLetters.invalid++
    } else if (roll < 0.14 && validSoFar.length > 0) {
      const again = random.pick(validSoFar)
      messages.push({ key: again.order_uid, value: JSON.stringify(again) })
    } else if (roll < 0.16 && validSoFar.length > 0) {
      const original = random.pick(validSoFar)
      const conflicting = { ...original, customer_id: `${original.customer_id}x` }
      messages.push({ key: original.order_uid, value: JSON.stringify(conflicting) })
      deadLetters.already_exists++
    } else {
      const order = realisticOrder(random, i)
      validSoFar.push(order)
      stored.set(order.order_uid, order)
      messages.push({ key: order.order_uid, value: JSON.stringify(order) })
    }
  }
  return { messages, stored, deadLetters }
}
