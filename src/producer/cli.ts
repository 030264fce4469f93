/**
 * `npm run produce -- [options]`: publishes demo orders to `KAFKA_TOPIC` on `KAFKA_BROKERS`.
 *
 *   --count N           orders to send (default 100); --invalid-ratio of them are broken
 *   --rate R            messages per second (default 50; 0 = as fast as the broker takes them)
 *   --invalid-ratio F   share of the orders that break one schema rule (default 0.1)
 *   --gibberish N       extra messages that are not orders at all (default 0)
 *   --duplicates N      extra redeliveries of orders already sent (default 0)
 *   --file PATH         publish the objects of a JSON file (an array or one object) instead
 *   --seed S            make the generated traffic reproducible
 */
import { readFileSync } from "node:fs"
import { parseArgs } from "node:util"
import { Kafka, logLevel, type Message, Partitioners } from "kafkajs"
import { PRODUCED_AT_HEADER } from "../consumer/BatchHandler.ts"
import type { Order } from "../domain/Order.ts"
import { gibberish, invalidOrderJson, makeRandom, realisticOrder } from "./generate.ts"

type Kind = "valid" | "invalid" | "gibberish" | "duplicate" | "file"

interface Options {
  readonly count: number
  readonly rate: number
  readonly invalidRatio: number
  readonly gibberish: number
  readonly duplicates: number
  readonly file: string | undefined
  readonly seed: number
}

const usageError = (message: string): never => {
  process.stderr.write(`produce: ${message}\n`)
  process.exit(2)
}

const number = (name: string, raw: string | undefined, fallback: number, min: number) => {
  if (raw === undefined) return fallback
  const value = Number(raw)
  return Number.isFinite(value) && value >= min
    ? value
    : usageError(`--${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`)
}

const parseOptions = (argv: ReadonlyArray<string>): Options => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      count: { type: "string" },
      rate: { type: "string" },
      "invalid-ratio": { type: "string" },
      gibberish: { type: "string" },
      duplicates: { type: "string" },
      file: { type: "string" },
      seed: { type: "string" }
    }
  })
  const invalidRatio = number("invalid-ratio", values["invalid-ratio"], 0.1, 0)
  if (invalidRatio > 1) usageError("--invalid-ratio must be between 0 and 1")
  return {
    count: Math.floor(number("count", values.count, 100, 0)),
    rate: number("rate", values.rate, 50, 0),
    invalidRatio,
    gibberish: Math.floor(number("gibberish", values.gibberish, 0, 0)),
    duplicates: Math.floor(number("duplicates", values.duplicates, 0, 0)),
    file: values.file,
    seed: Math.floor(number("seed", values.seed, Date.now() % 2 ** 31, 0))
  }
}

/** The messages to send, in sending order, generated lazily so a large count costs no memory. */
function* traffic(options: Options): Generator<readonly [Kind, Message]> {
  if (options.file !== undefined) {
    const parsed: unknown = JSON.parse(readFileSync(options.file, "utf8"))
    for (const object of Array.isArray(parsed) ? parsed : [parsed]) {
      const uid = (object as { order_uid?: unknown }).order_uid
      yield ["file", { key: typeof uid === "string" ? uid : null, value: JSON.stringify(object) }]
    }
    return
  }
  const random = makeRandom(options.seed)
  const sent: Array<Order> = []
  let orders = 0
  let garbage = 0
  let duplicates = 0
  const total = options.count + options.gibberish + options.duplicates
  for (let i = 0; orders + garbage + duplicates < total; i++) {
    const left = total - (orders + garbage + duplicates)
    const roll = random.next() * left
    if (roll < options.gibberish - garbage) {
      garbage++
      yield ["gibberish", { key: null, value: gibberish(random, i) }]
    } else if (
      roll < options.gibberish - garbage + options.duplicates - duplicates &&
      sent.length
    ) {
      duplicates++
      const order = random.pick(sent)
      yield ["duplicate", { key: order.order_uid, value: JSON.stringify(order) }]
    } else if (orders < options.count) {
      orders++
      if (random.next() < options.invalidRatio) {
        yield ["invalid", { key: `invalid-${i}`, value: invalidOrderJson(random, i).json }]
      } else {
        const order = realisticOrder(random, i)
        if (sent.length < 10_000) sent.push(order)
        yield ["valid", { key: order.order_uid, value: JSON.stringify(order) }]
      }
    } else {
      // Duplicates were asked for before any valid order was sent: send fresh ones instead.
      orders++
      const order = realisticOrder(random, i)
      sent.push(order)
      yield ["valid", { key: order.order_uid, value: JSON.stringify(order) }]
    }
  }
}

/** The broker does not create topics on first use; the service would, but may not run yet. */
const ensureTopic = async (kafka: Kafka, topic: string) => {
  const admin = kafka.admin()
  await admin.connect()
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      const numPartitions = Number(process.env["KAFKA_TOPIC_PARTITIONS"] ?? 3)
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions }] })
    }
  } finally {
    await admin.disconnect()
  }
}

const main = async () => {
  const options = parseOptions(process.argv.slice(2))
  const brokers = (process.env["KAFKA_BROKERS"] ?? "127.0.0.1:9092").split(",")
  const topic = process.env["KAFKA_TOPIC"] ?? "orders"
  const kafka = new Kafka({ clientId: "order-producer", brokers, logLevel: logLevel.WARN })
  await ensureTopic(kafka, topic)
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner
  })
  await producer.connect()

  const counts: Record<Kind, number> = { valid: 0, invalid: 0, gibberish: 0, duplicate: 0, file: 0 }
  const started = Date.now()
  let sent = 0
  let stopping = false
  const onSignal = () => {
    stopping = true
  }
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal)

  const progress = (final: boolean) => {
    const seconds = (Date.now() - started) / 1000
    const line = `sent ${sent}  (${(sent / Math.max(seconds, 0.001)).toFixed(1)}/s)`
    if (process.stdout.isTTY) process.stdout.write(`\r${line}${final ? "\n" : ""}`)
    else if (final || sent % 1000 === 0) process.stdout.write(`${line}\n`)
  }

  // Sends in small slices, one every `tick`, so the achieved rate follows the asked one.
  const tick = 50
  const perTick = options.rate === 0 ? 500 : Math.max(1, Math.round((options.rate * tick) / 1000))
  const source = traffic(options)
  let next = Date.now()
  while (!stopping) {
    const slice: Array<Message> = []
    for (let i = 0; i < perTick; i++) {
      const item = source.next()
      if (item.done) break
      const [kind, message] = item.value
      counts[kind]++
      slice.push({ ...message, headers: { [PRODUCED_AT_HEADER]: String(Date.now()) } })
    }
    if (slice.length === 0) break
    await producer.send({ topic, acks: -1, messages: slice })
    sent += slice.length
    progress(false)
    if (options.rate > 0) {
      next += tick
      const wait = next - Date.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
  progress(true)
  await producer.disconnect()
  const seconds = (Date.now() - started) / 1000
  const summary = {
    topic,
    sent,
    byKind: Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0)),
    seconds: Number(seconds.toFixed(2)),
    ratePerSecond: Number((sent / Math.max(seconds, 0.001)).toFixed(1)),
    interrupted: stopping
  }
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`produce: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
