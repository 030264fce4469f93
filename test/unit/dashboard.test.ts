import { readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { alertRules, dashboardExpressions, panelsByRow, ROOT } from "../support/dashboard.ts"
import { designMetrics } from "../support/designMetrics.ts"

const rowOf = (metric: string) =>
  metric.startsWith("http_")
    ? "API"
    : metric.startsWith("consumer_")
      ? "Consumer"
      : metric.startsWith("cache_")
        ? "Cache"
        : "Database"

/** Metric names a PromQL expression reads: identifiers followed by `[`, `{`, `)` or spaces. */
const metricsIn = (expr: string) =>
  new Set(
    designMetrics
      .map((metric) => metric.name)
      .filter((name) => new RegExp(`\\b${name}(_bucket|_count|_sum)?\\b`).test(expr))
  )

describe("Grafana dashboard", () => {
  it("has the rows API, Consumer, Cache and Database, and only queried panels in them", () => {
    const panels = panelsByRow()
    assert.deepStrictEqual(
      [...new Set(panels.map(({ row }) => row))],
      ["API", "Consumer", "Cache", "Database"]
    )
    for (const { panel } of panels) {
      assert.isAbove(panel.targets?.length ?? 0, 0, `${panel.title} has a query`)
    }
  })

  it("shows every metric of the design in its row", () => {
    const panels = panelsByRow()
    for (const metric of designMetrics) {
      const shown = panels.filter(({ panel }) =>
        (panel.targets ?? []).some((target) => metricsIn(target.expr).has(metric.name))
      )
      assert.isAbove(shown.length, 0, `${metric.name} has a panel`)
      assert.isTrue(
        shown.some(({ row }) => row === rowOf(metric.name)),
        `${metric.name} is shown in the ${rowOf(metric.name)} row`
      )
    }
  })

  it("asks for p50, p95 and p99 of every histogram and rates of every counter", () => {
    const exprs = dashboardExpressions().map(({ expr }) => expr)
    for (const metric of designMetrics) {
      if (metric.type === "histogram") {
        for (const q of ["0.5", "0.95", "0.99"]) {
          assert.isTrue(
            exprs.some((e) => e.includes(`histogram_quantile(${q},`) && e.includes(metric.name)),
            `p${Number(q) * 100} of ${metric.name}`
          )
        }
      }
      if (metric.type === "counter") {
        assert.isTrue(
          exprs.some((e) => e.includes(`rate(${metric.name}[`)),
          `rate of ${metric.name}`
        )
      }
    }
  })

  it("leaves no Grafana variable unexplained in its queries", () => {
    for (const { title, expr } of dashboardExpressions()) {
      assert.notInclude(expr, "$", `${title}: ${expr}`)
    }
  })
})

describe("Prometheus alert rules", () => {
  it("cover a database outage, growing lag, dead letters above normal and HTTP 5xx", () => {
    const rules = alertRules()
    const watched = rules.map((rule) => [...metricsIn(rule.expr)].sort())
    assert.deepStrictEqual(watched, [
      ["db_up"],
      ["consumer_lag"],
      ["consumer_dlq_messages_total", "consumer_messages_total"],
      ["http_requests_total"]
    ])
    for (const rule of rules) {
      assert.match(rule.alert, /^OrderService[A-Z]\w+$/)
      assert.isString(rule.for, `${rule.alert} waits before firing`)
    }
  })
})

describe("README", () => {
  it("lists every metric of the design, with its type, in the Metrics table", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8")
    const section = readme.split(/^## Metrics$/m)[1]?.split(/^## /m)[0] ?? ""
    const rows = new Map(
      [...section.matchAll(/^\| `([a-z_]+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!])
    )
    assert.deepStrictEqual(
      [...rows].sort(),
      designMetrics.map((metric) => [metric.name, metric.type] as [string, string]).sort()
    )
  })
})
