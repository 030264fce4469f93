/**
 * compose.yaml, the Dockerfile and the Prometheus and Grafana files cannot be run here (no
 * Docker engine), so they are read and checked against the code and each other.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { parse } from "yaml"
import { appConfig } from "../../src/config/AppConfig.ts"

const ROOT = join(import.meta.dirname, "..", "..")
const SERVICE = "order-service"

const read = (path: string) => readFileSync(join(ROOT, path), "utf8")
const readYaml = (path: string): any => parse(read(path))

/** Every environment variable the service's configuration asks for, found by asking it. */
const variablesTheConfigReads = (): ReadonlySet<string> => {
  const seen = new Set<string>()
  const recording = ConfigProvider.make((path) => {
    seen.add(path.join("_"))
    return Effect.succeed(undefined)
  })
  Effect.runSync(Effect.provideService(appConfig, ConfigProvider.ConfigProvider, recording))
  return seen
}

/** The variable names in the first column of README's configuration table. */
const variablesInReadme = (): ReadonlySet<string> => {
  const section =
    read("README.md")
      .split(/^## Configuration$/m)[1]
      ?.split(/^## /m)[0] ?? ""
  return new Set([...section.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((match) => match[1]!))
}

const compose = readYaml("compose.yaml")
const services: Record<string, any> = compose.services
const service = services[SERVICE]
const environment: Record<string, string> = service.environment
const httpPort = Number(environment["HTTP_PORT"])

describe("compose.yaml", () => {
  it("pins every image to an explicit version, the Dockerfile's base images too", () => {
    const images = Object.entries(services).map(([name, s]) => [name, s.image] as const)
    const bases = [...read("Dockerfile").matchAll(/^FROM\s+(\S+)/gm)].map(
      (match) => ["Dockerfile", match[1]] as const
    )
    assert.isAbove(bases.length, 0)
    for (const [where, image] of [...images, ...bases]) {
      assert.isString(image, `${where} names an image`)
      const tag = /^[^@]+:([^:/@]+)$/.exec(image)?.[1]
      assert.isDefined(tag, `${where}: ${image} has a tag`)
      assert.notMatch(tag!, /^(latest|stable|main|lts|current)$/, `${where}: ${image}`)
      assert.match(tag!, /[0-9]+\.[0-9]+/, `${where}: ${image} names a version`)
    }
  })

  it("gives the service only variables its configuration reads, all listed in the README", () => {
    const read = variablesTheConfigReads()
    const documented = variablesInReadme()
    // The recorder must see the configuration; a broken one would make this test vacuous.
    assert.isTrue(read.has("DATABASE_URL") && read.has("HTTP_PORT"))
    for (const name of Object.keys(environment)) {
      assert.isTrue(read.has(name), `${name} is read by src/config`)
      assert.isTrue(documented.has(name), `${name} is in the README's configuration table`)
    }
    for (const name of ["DATABASE_URL", "KAFKA_BROKERS", "HTTP_PORT"]) {
      assert.property(environment, name)
    }
  })

  it("connects the service to the compose PostgreSQL and Kafka, after their health checks", () => {
    const url = new URL(environment["DATABASE_URL"]!)
    assert.strictEqual(url.hostname, "postgres")
    const pg = services["postgres"].environment
    assert.strictEqual(url.username, pg.POSTGRES_USER)
    assert.strictEqual(url.password, pg.POSTGRES_PASSWORD)
    assert.strictEqual(url.pathname, `/${pg.POSTGRES_DB}`)

    const advertised: string = services["kafka"].environment.KAFKA_ADVERTISED_LISTENERS
    for (const broker of environment["KAFKA_BROKERS"]!.split(",")) {
      assert.include(advertised, `//${broker.trim()}`, "the broker advertises that address")
    }

    for (const dependency of ["postgres", "kafka"]) {
      assert.strictEqual(service.depends_on[dependency].condition, "service_healthy")
      assert.isDefined(services[dependency].healthcheck, `${dependency} has a health check`)
    }
    assert.strictEqual(services["producer"].depends_on[SERVICE].condition, "service_healthy")
  })

  it("runs the demo producer through an npm script that exists", () => {
    const [program, verb, script, separator] = services["producer"].command as Array<string>
    assert.deepStrictEqual([program, verb, separator], ["npm", "run", "--"])
    const scripts: Record<string, string> = JSON.parse(read("package.json")).scripts
    assert.property(scripts, script!)
    const producerEnv = Object.keys(services["producer"].environment)
    const readByConfig = variablesTheConfigReads()
    for (const name of producerEnv) assert.isTrue(readByConfig.has(name), name)
  })

  it("publishes, probes and exposes the port the service listens on (HTTP_PORT)", () => {
    assert.isTrue(Number.isInteger(httpPort) && httpPort > 0)
    const containerPorts = (service.ports as Array<string>).map((p) => Number(p.split(":").at(-1)))
    assert.deepStrictEqual(containerPorts, [httpPort])
    const probe = JSON.stringify(service.healthcheck.test)
    assert.include(probe, `127.0.0.1:${httpPort}/readyz`)
    assert.match(read("Dockerfile"), new RegExp(`^EXPOSE ${httpPort}$`, "m"))
  })

  it("has Prometheus scrape the service by its compose name and HTTP_PORT at /metrics", () => {
    const config = readYaml("prometheus/prometheus.yml")
    const jobs: Array<any> = config.scrape_configs
    const targets = jobs.flatMap((job) =>
      (job.static_configs as Array<any>).flatMap((s) => s.targets as Array<string>)
    )
    assert.deepStrictEqual(targets, [`${SERVICE}:${httpPort}`])
    assert.strictEqual(jobs[0].metrics_path ?? "/metrics", "/metrics")
  })

  it("mounts files that exist where Prometheus and Grafana look for them", () => {
    const mounts = (name: string) =>
      new Map(
        (services[name].volumes as Array<string>).map((v) => {
          const [host, container] = v.split(":")
          return [container!, host!] as const
        })
      )
    const prometheus = mounts("prometheus")
    for (const [container, host] of prometheus) {
      assert.isTrue(existsSync(join(ROOT, host)), `${host} exists`)
      assert.match(container, /^\/etc\/prometheus\//)
    }
    const ruleFiles: Array<string> = readYaml("prometheus/prometheus.yml").rule_files
    for (const rules of ruleFiles) assert.isTrue(prometheus.has(rules), `${rules} is mounted`)

    const grafana = mounts("grafana")
    for (const host of grafana.values()) assert.isTrue(existsSync(join(ROOT, host)), host)
    const providerDir = grafana.get("/etc/grafana/provisioning")!
    const provider = readYaml(join(providerDir, "dashboards", "order-service.yaml"))
    const dashboardsDir = grafana.get(provider.providers[0].options.path)
    assert.isDefined(dashboardsDir, "the provider's path is mounted")
    assert.isTrue(existsSync(join(ROOT, dashboardsDir!, "order-service.json")))

    const datasource = readYaml(join(providerDir, "datasources", "prometheus.yaml")).datasources[0]
    assert.strictEqual(datasource.url, "http://prometheus:9090")
    const dashboard = JSON.parse(read(join(dashboardsDir!, "order-service.json")))
    const uids = new Set(
      JSON.stringify(dashboard)
        .match(/"uid":"[^"]*"/g)!
        .filter((uid) => uid !== `"uid":"${dashboard.uid}"`)
    )
    assert.deepStrictEqual([...uids], [`"uid":"${datasource.uid}"`])
  })
})
