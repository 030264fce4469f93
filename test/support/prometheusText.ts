/**
 * A reader for the Prometheus text exposition format (0.0.4), strict enough that a malformed
 * line fails the test instead of being skipped.
 */

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Exposition {
  readonly samples: ReadonlyArray<Sample>
  /** `# TYPE` by metric family name. */
  readonly types: ReadonlyMap<string, string>
  readonly help: ReadonlyMap<string, string>
  readonly units: ReadonlyMap<string, string>
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/

const parseValue = (raw: string, line: string): number => {
  if (raw === "+Inf") return Number.POSITIVE_INFINITY
  if (raw === "-Inf") return Number.NEGATIVE_INFINITY
  if (raw === "NaN") return Number.NaN
  const value = Number(raw)
  if (raw === "" || Number.isNaN(value)) throw new Error(`bad sample value in: ${line}`)
  return value
}

const parseLabels = (text: string, line: string): [Record<string, string>, string] => {
  const labels: Record<string, string> = {}
  let rest = text
  while (!rest.startsWith("}")) {
    const name = LABEL_NAME.exec(rest)?.[0]
    if (name === undefined || rest[name.length] !== "=" || rest[name.length + 1] !== '"') {
      throw new Error(`bad label in: ${line}`)
    }
    let i = name.length + 2
    let value = ""
    for (;;) {
      const c = rest[i]
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`)
      if (c === '"') break
      if (c === "\\") {
        const next = rest[i + 1]
        if (next === "n") value += "\n"
        else if (next === "\\" || next === '"') value += next
        else throw new Error(`bad escape in: ${line}`)
        i += 2
      } else {
        value += c
        i += 1
      }
    }
    if (name in labels) throw new Error(`repeated label ${name} in: ${line}`)
    labels[name] = value
    rest = rest.slice(i + 1)
    if (rest.startsWith(",")) rest = rest.slice(1)
    else if (!rest.startsWith("}")) throw new Error(`bad label separator in: ${line}`)
  }
  return [labels, rest.slice(1)]
}

export const parse = (text: string): Exposition => {
  const samples: Array<Sample> = []
  const types = new Map<string, string>()
  const help = new Map<string, string>()
  const units = new Map<string, string>()
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    if (line.startsWith("#")) {
      const [, keyword, family, ...words] = line.split(" ")
      if (family === undefined) continue
      if (keyword === "TYPE") types.set(family, words.join(" "))
      else if (keyword === "HELP") help.set(family, words.join(" "))
      else if (keyword === "UNIT") units.set(family, words.join(" "))
      continue
    }
    const name = NAME.exec(line)?.[0]
    if (name === undefined) throw new Error(`bad metric name in: ${line}`)
    let rest = line.slice(name.length)
    let labels: Record<string, string> = {}
    if (rest.startsWith("{")) [labels, rest] = parseLabels(rest.slice(1), line)
    const [rawValue, timestamp, ...extra] = rest.trim().split(/\s+/)
    if (extra.length > 0 || (timestamp !== undefined && !/^-?[0-9]+$/.test(timestamp))) {
      throw new Error(`trailing text in: ${line}`)
    }
    samples.push({ name, labels, value: parseValue(rawValue ?? "", line) })
  }
  return { samples, types, help, units }
}

/** The samples of one series name whose labels include all of `labels`. */
export const select = (
  exposition: Exposition,
  name: string,
  labels: Readonly<Record<string, string>> = {}
): ReadonlyArray<Sample> =>
  exposition.samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value)
  )

/** The value of the one sample that matches; throws when there is none or several. */
export const valueOf = (
  exposition: Exposition,
  name: string,
  labels: Readonly<Record<string, string>> = {}
): number => {
  const found = select(exposition, name, labels)
  const [only] = found
  if (only === undefined || found.length !== 1) {
    throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}, expected 1`)
  }
  return only.value
}
