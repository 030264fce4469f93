/**
 * The dead-letter record: the original key, value and headers, plus why and where from, so
 * an operator can fix and replay it. Header names are the contract with whoever reads the DLQ.
 */
import type { ConsumedMessage, DeadLetter } from "../kafka/Kafka.ts"

export type DeadLetterReason = "invalid" | "already_exists" | "unhandled"

export const DLQ_HEADERS = {
  reason: "x-dlq-reason",
  error: "x-dlq-error",
  sourceTopic: "x-dlq-source-topic",
  sourcePartition: "x-dlq-source-partition",
  sourceOffset: "x-dlq-source-offset"
} as const

/** Keeps a pathological error text from growing the record past the broker's size limit. */
const MAX_ERROR_CHARS = 2000

export const toDeadLetter = (
  source: { readonly topic: string; readonly partition: number },
  message: ConsumedMessage,
  reason: DeadLetterReason,
  error: string
): DeadLetter => ({
  key: message.key,
  value: message.value,
  headers: {
    ...message.headers,
    [DLQ_HEADERS.reason]: reason,
    [DLQ_HEADERS.error]: error.length > MAX_ERROR_CHARS ? error.slice(0, MAX_ERROR_CHARS) : error,
    [DLQ_HEADERS.sourceTopic]: source.topic,
    [DLQ_HEADERS.sourcePartition]: String(source.partition),
    [DLQ_HEADERS.sourceOffset]: message.offset
  }
})
