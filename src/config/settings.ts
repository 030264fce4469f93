/**
 * Reading one environment variable into a typed value. Effect's own `Config` errors name the
 * variable but not the value; an operator fixing a deployment wants both, on one line.
 */
import { Config, ConfigProvider, Duration, Option, Redacted } from "effect"

/** Turns the raw text into a value, or `undefined` when the text is not acceptable. */
type Parse<A> = (raw: string) => A | undefined

const setting = <A>(name: string, fallback: A, expected: string, parse: Parse<A>) =>
  Config.String(name).pipe(
    Config.option,
    Config.flatMap(
      Option.match({
        onNone: () => Config.succeed(fallback),
        onSome: (raw) => {
          const value = parse(raw.trim())
          return value === undefined
            ? Config.fail(
                new ConfigProvider.SourceError({
                  message: `${name}=${JSON.stringify(raw)} is invalid: expected ${expected}`
                })
              )
            : Config.succeed(value)
        }
      })
    )
  )

const parseInt =
  (min: number, max: number): Parse<number> =>
  (raw) => {
    if (!/^-?[0-9]+$/.test(raw)) return undefined
    const n = Number(raw)
    return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined
  }

export const int = (name: string, fallback: number, min: number, max: number) =>
  setting(name, fallback, `an integer from ${min} to ${max}`, parseInt(min, max))

export const text = (name: string, fallback: string) =>
  setting(name, fallback, "a non-empty string", (raw) => (raw.length > 0 ? raw : undefined))

export const secret = (name: string, fallback: string) =>
  setting(name, Redacted.make(fallback), "a non-empty string", (raw) =>
    raw.length > 0 ? Redacted.make(raw) : undefined
  )

export const oneOf = <const L extends ReadonlyArray<string>>(
  name: string,
  fallback: L[number],
  choices: L
) =>
  setting<L[number]>(name, fallback, `one of ${choices.join(", ")}`, (raw) =>
    choices.find((choice) => choice.toLowerCase() === raw.toLowerCase())
  )

export const bool = (name: string, fallback: boolean) =>
  setting(name, fallback, "true or false", (raw) =>
    /^(true|1|yes)$/i.test(raw) ? true : /^(false|0|no)$/i.test(raw) ? false : undefined
  )

/**
 * A duration above zero such as `500 millis`, `2 seconds`, or a bare number of milliseconds.
 * Zero is refused: every duration here is an interval or a deadline, and zero would turn one
 * into a busy loop or switch one off.
 */
export const duration = (name: string, fallback: Duration.Duration) =>
  setting(name, fallback, "a duration above zero, such as 500 millis or 2 seconds", (raw) => {
    const parsed = parseDuration(raw)
    return parsed !== undefined && Duration.toMillis(parsed) > 0 ? parsed : undefined
  })

const parseDuration = (raw: string): Duration.Duration | undefined => {
  if (/^[0-9]+$/.test(raw)) return Duration.millis(Number(raw))
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*(ms|millis|s|seconds?|m|minutes?)$/.exec(raw)
  if (match === null) return undefined
  const amount = Number(match[1])
  const unit = match[2] ?? "ms"
  if (unit === "ms" || unit === "millis") return Duration.millis(amount)
  if (unit.startsWith("s")) return Duration.seconds(amount)
  return Duration.minutes(amount)
}

/** A comma-separated list of non-empty entries. */
export const list = (name: string, fallback: ReadonlyArray<string>) =>
  setting(name, fallback, "a comma-separated list", (raw) => {
    const entries = raw.split(",").map((entry) => entry.trim())
    return entries.length > 0 && entries.every((entry) => entry.length > 0) ? entries : undefined
  })

/**
 * An optional http(s) base URL, without a trailing slash. Unset or empty means "none", so
 * that compose files can pass `${VAR:-}` through.
 */
export const optionalUrl = (name: string) =>
  setting<Option.Option<string>>(name, Option.none(), "an http(s) URL", (raw) => {
    if (raw.length === 0) return Option.none()
    if (!URL.canParse(raw)) return undefined
    const { protocol } = new URL(raw)
    return protocol === "http:" || protocol === "https:"
      ? Option.some(raw.replace(/\/+$/, ""))
      : undefined
  })
