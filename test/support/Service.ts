/**
 * The ingestion side of the service, in-process, against the real broker and a fresh
 * database: what main.ts runs, minus HTTP.
 */
import { Layer } from "effect"
import * as Consumer from "../../src/consumer/Consumer.ts"
import { HealthRef } from "../../src/health/HealthRef.ts"
import { Kafka } from "../../src/kafka/Kafka.ts"
import * as TestDatabase from "./TestDatabase.ts"

export const ingestLayer = (env: Record<string, string>, pgServer?: string) =>
  Consumer.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(Kafka.layer, HealthRef.layer)),
    Layer.provideMerge(TestDatabase.layer(env, pgServer))
  )
