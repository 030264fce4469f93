/**
 * Log output: JSON lines for machines, pretty lines for people, at the configured level.
 * Messages are constant; what they are about travels in annotations.
 */
import { Effect, Layer, Logger, type LogLevel, References } from "effect"
import { AppConfig, type LogLevelName } from "../config/AppConfig.ts"

const levels: Record<LogLevelName, LogLevel.LogLevel> = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warning: "Warn",
  error: "Error"
}

export const layer = Layer.unwrap(
  Effect.gen(function* () {
    const { log } = yield* AppConfig
    const logger = log.format === "json" ? Logger.consoleJson : Logger.consolePretty()
    return Layer.mergeAll(
      Logger.layer([logger]),
      Layer.succeed(References.MinimumLogLevel, levels[log.level])
    )
  })
)
