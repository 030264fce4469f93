import { mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type BrowserContext, chromium, type Page } from "playwright-core"
import { Database } from "../../src/db/Database.ts"
import { makeOrderDecoder } from "../../src/domain/decode.ts"
import { baseUrl, down, HealthSwitch, layer as httpLayer, up } from "../support/TestHttp.ts"

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const OUTPUT = "test-output"

/** A machine with no network: nothing in the browser may try to phone home. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run"
]

const order = {
  order_uid: "pageTest2024a",
  track_number: "WBPAGETRACK7",
  entry: "WBIL",
  delivery: {
    name: "Anna Petrova",
    phone: "+79161234567",
    zip: "101000",
    city: "Moscow",
    address: "Tverskaya 7, apt 12",
    region: "Moscow",
    email: "anna.petrova@example.com"
  },
  payment: {
    transaction: "pageTest2024a",
    request_id: "",
    currency: "RUB",
    provider: "wbpay",
    amount: 4230,
    payment_dt: 1700000000,
    bank: "sber",
    delivery_cost: 300,
    goods_total: 3930,
    custom_fee: 0
  },
  items: [
    {
      chrt_id: 9934930,
      track_number: "WBPAGETRACK7",
      price: 2500,
      rid: "ab4219087a764ae0bpage1",
      name: "Wool scarf",
      sale: 20,
      size: "M",
      total_price: 2000,
      nm_id: 2389212,
      brand: "Nordic Knit",
      status: 202
    },
    {
      chrt_id: 9934931,
      track_number: "WBPAGETRACK7",
      price: 1930,
      rid: "ab4219087a764ae0bpage2",
      name: "Leather gloves",
      sale: 0,
      size: "8",
      total_price: 1930,
      nm_id: 2389213,
      brand: "Handwerk",
      status: 202
    }
  ],
  locale: "ru",
  internal_signature: "",
  customer_id: "anna42",
  delivery_service: "meest",
  shardkey: "9",
  sm_id: 99,
  date_created: "2024-03-18T10:15:00Z",
  oof_shard: "1"
}

/** A browser with a fresh profile, closed (and its profile removed) with the scope. */
const browser = Effect.acquireRelease(
  Effect.promise(async () => {
    const profile = await mkdtemp(join(tmpdir(), "order-service-chromium-"))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 }
    })
    return { context, profile }
  }),
  ({ context, profile }) =>
    Effect.promise(async () => {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    })
)

/**
 * Everything the page reports as going wrong: script errors, CSP refusals, failed loads. The
 * lookups' own 4xx/5xx answers are expected (Chromium logs each as a console error), so they
 * are told apart by URL; any other answer of 400 or more is a problem.
 */
const watchProblems = (page: Page) => {
  const problems: Array<string> = []
  const isLookup = (url: string) => new URL(url).pathname.startsWith("/orders/")
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`))
  page.on("console", (message) => {
    const expected =
      message.text().startsWith("Failed to load resource: the server responded") &&
      isLookup(message.location().url)
    if (message.type() === "error" && !expected) problems.push(`console: ${message.text()}`)
  })
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`))
  page.on("response", (response) => {
    if (response.status() >= 400 && !isLookup(response.url())) {
      problems.push(`${response.status()} for ${response.url()}`)
    }
  })
  return problems
}

const storeOrder = Effect.gen(function* () {
  const db = yield* Database
  const valid = yield* makeOrderDecoder(1000).fromJson(order)
  const [outcome] = yield* db.insertOrders([valid])
  assert.include(["Inserted", "AlreadyStored"], outcome?._tag)
})

const lookUpByKeyboard = (page: Page, uid: string) =>
  Effect.promise(async () => {
    const field = page.getByLabel("Order UID")
    await field.fill(uid)
    await field.press("Enter")
  })

const screenshot = (page: Page, name: string) =>
  Effect.promise(async () => {
    await mkdir(OUTPUT, { recursive: true })
    await page.screenshot({ path: join(OUTPUT, name), fullPage: true })
  })

const openPage = (context: BrowserContext, url: string) =>
  Effect.promise(async () => {
    const page = await context.newPage()
    const problems = watchProblems(page)
    await page.goto(url)
    return { page, problems }
  })

describe("the lookup page in Chromium (real PostgreSQL)", () => {
  it.layer(httpLayer(), { excludeTestServices: true })((it) => {
    it.effect(
      "shows a stored order, then clear messages for unknown, invalid and DB-down lookups",
      () =>
        Effect.gen(function* () {
          yield* storeOrder
          const base = yield* baseUrl
          const { context } = yield* browser
          const { page, problems } = yield* openPage(context, `${base}/`)

          yield* lookUpByKeyboard(page, order.order_uid)
          const card = page.locator("#order")
          yield* Effect.promise(() =>
            page.getByRole("heading", { name: `Order ${order.order_uid}` }).waitFor()
          )
          const shown = yield* Effect.promise(() => card.innerText())
          for (const value of [
            order.track_number,
            order.customer_id,
            order.delivery_service,
            order.delivery.name,
            order.delivery.phone,
            order.delivery.email,
            order.delivery.address,
            order.payment.transaction,
            "4,230 RUB",
            "Wool scarf",
            "Leather gloves",
            "Nordic Knit",
            "2 items"
          ]) {
            assert.include(shown, value)
          }
          // Sections in reading order: main fields, then delivery, payment, items.
          const headings = yield* Effect.promise(() => card.locator("h2, h3").allInnerTexts())
          assert.deepStrictEqual(headings, [
            `Order ${order.order_uid}`,
            "Delivery",
            "Payment",
            "Items"
          ])
          // Focus moves to the result, so a screen reader announces it.
          const focused = yield* Effect.promise(() =>
            page.evaluate<string>("document.activeElement ? document.activeElement.id : ''")
          )
          assert.strictEqual(focused, "order-title")
          assert.include(page.url(), `uid=${order.order_uid}`)
          yield* screenshot(page, "lookup-page.png")

          yield* Effect.promise(() => page.setViewportSize({ width: 390, height: 844 }))
          yield* screenshot(page, "lookup-page-phone.png")
          yield* Effect.promise(() => page.setViewportSize({ width: 1280, height: 900 }))

          yield* lookUpByKeyboard(page, "nosuchorder42")
          const alert = page.getByRole("alert")
          yield* Effect.promise(() => alert.getByText("Order not found").waitFor())
          assert.include(yield* Effect.promise(() => alert.innerText()), "nosuchorder42")
          assert.isTrue(yield* Effect.promise(() => card.isHidden()))
          yield* screenshot(page, "lookup-page-not-found.png")

          yield* lookUpByKeyboard(page, "not a uid!")
          yield* Effect.promise(() => alert.getByText("That is not an order UID").waitFor())

          const health = yield* HealthSwitch
          yield* health.set(down())
          yield* Effect.promise(async () => {
            await page.getByLabel("Order UID").fill("notCachedUid7")
            await page.getByRole("button", { name: "Look up" }).click()
            await alert.getByText("Orders cannot be looked up right now").waitFor()
          })
          assert.include(yield* Effect.promise(() => alert.innerText()), "Try again in 2 seconds")
          yield* screenshot(page, "lookup-page-db-down.png")
          yield* health.set(up)

          assert.deepStrictEqual(problems, [])
        }).pipe(Effect.ensuring(Effect.flatMap(HealthSwitch, (health) => health.set(up)))),
      { timeout: 90_000 }
    )

    it.effect("a link with ?uid= opens the order directly, and Back returns to the form", () =>
      Effect.gen(function* () {
        yield* storeOrder
        const base = yield* baseUrl
        const { context } = yield* browser
        const { page, problems } = yield* openPage(context, `${base}/?uid=${order.order_uid}`)
        yield* Effect.promise(() =>
          page.getByRole("heading", { name: `Order ${order.order_uid}` }).waitFor()
        )
        yield* lookUpByKeyboard(page, "nosuchorder43")
        yield* Effect.promise(() => page.getByRole("alert").getByText("Order not found").waitFor())
        yield* Effect.promise(() => page.goBack())
        yield* Effect.promise(() =>
          page.getByRole("heading", { name: `Order ${order.order_uid}` }).waitFor()
        )
        assert.deepStrictEqual(problems, [])
      })
    )
  })
})
