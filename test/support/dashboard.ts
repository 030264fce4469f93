/**
 * The PromQL that operators will see: every query of the Grafana dashboard and every alert
 * rule, read from the files compose.yaml mounts.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"

export const ROOT = join(import.meta.dirname, "..", "..")
export const DASHBOARD_FILE = join(ROOT, "grafana", "dashboards", "order-service.json")
export const ALERTS_FILE = join(ROOT, "prometheus", "alerts.yml")

export interface Panel {
  readonly type: string
  readonly title: string
  readonly targets?: ReadonlyArray<{ readonly expr: string }>
  readonly panels?: ReadonlyArray<Panel>
}

export const dashboard = (): { readonly panels: ReadonlyArray<Panel> } =>
  JSON.parse(readFileSync(DASHBOARD_FILE, "utf8"))

/** Every panel, including those inside collapsed rows, with the row it sits under. */
export const panelsByRow = (): ReadonlyArray<{ readonly row: string; readonly panel: Panel }> => {
  const out: Array<{ row: string; panel: Panel }> = []
  let row = ""
  for (const panel of dashboard().panels) {
    if (panel.type === "row") {
      row = panel.title
      for (const inner of panel.panels ?? []) out.push({ row, panel: inner })
    } else {
      out.push({ row, panel })
    }
  }
  return out
}

/**
 * Grafana's interval variables, as Grafana would fill them in for a Prometheus that scrapes
 * every second (at least four scrape intervals for `$__rate_interval`).
 */
const grafanaVariables: Record<string, string> = {
  $__rate_interval: "15s",
  $__interval: "1s",
  $__range: "5m"
}

export const dashboardExpressions = (): ReadonlyArray<{ readonly title: string; expr: string }> =>
  panelsByRow().flatMap(({ panel }) =>
    (panel.targets ?? []).map((target) => ({
      title: panel.title,
      expr: Object.entries(grafanaVariables).reduce(
        (expr, [name, value]) => expr.replaceAll(name, value),
        target.expr
      )
    }))
  )

export interface AlertRule {
  readonly alert: string
  readonly expr: string
  readonly for?: string
}

export const alertRules = (): ReadonlyArray<AlertRule> =>
  (parse(readFileSync(ALERTS_FILE, "utf8")).groups as Array<{ rules: Array<AlertRule> }>).flatMap(
    (group) => group.rules
  )
