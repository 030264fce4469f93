// The order lookup page. Plain browser JavaScript, no dependencies, served by the service
// itself. Text from an order is only ever set with textContent, never parsed as HTML.
"use strict"

const UID_PATTERN = /^[A-Za-z0-9]{1,64}$/

const form = document.getElementById("lookup")
const input = document.getElementById("uid")
const statusLine = document.getElementById("status")
const problem = document.getElementById("problem")
const card = document.getElementById("order")

const numberFormat = new Intl.NumberFormat(undefined)
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" })

function el(tag, attributes, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes ?? {})) node.setAttribute(name, value)
  for (const child of children) node.append(child)
  return node
}

const orDash = (text) => (text === "" ? "—" : String(text))
const money = (amount, currency) => `${numberFormat.format(amount)} ${currency}`

function timeElement(date, fallback) {
  if (Number.isNaN(date.getTime())) return document.createTextNode(fallback)
  return el("time", { datetime: date.toISOString() }, dateFormat.format(date))
}

/** A titled list of label/value pairs; values may be strings or nodes. */
function fields(title, rows) {
  const list = el("dl", { class: "fields" })
  for (const [label, value] of rows) {
    list.append(el("div", { class: "field" }, el("dt", {}, label), el("dd", {}, value)))
  }
  if (title === null) return list
  const id = `section-${title.toLowerCase()}`
  return el("section", { class: "part", "aria-labelledby": id }, el("h3", { id }, title), list)
}

function itemsTable(items, currency) {
  // [label, value, kind]: "num" cells never wrap; "id" cells are small and may break anywhere.
  const columns = [
    ["Name", (item) => item.name, "text"],
    ["Brand", (item) => item.brand, "text"],
    ["Size", (item) => item.size, "text"],
    ["Price", (item) => money(item.price, currency), "num"],
    ["Sale", (item) => `${item.sale}%`, "num"],
    ["Total", (item) => money(item.total_price, currency), "num"],
    ["Status", (item) => String(item.status), "num"],
    ["nm_id", (item) => String(item.nm_id), "id"],
    ["chrt_id", (item) => String(item.chrt_id), "id"],
    ["rid", (item) => item.rid, "id"],
    ["Track number", (item) => item.track_number, "id"]
  ]
  const head = el("tr", {}, ...columns.map(([label]) => el("th", { scope: "col" }, label)))
  const body = items.map((item) =>
    el(
      "tr",
      {},
      ...columns.map(([label, value, kind]) =>
        el("td", { "data-label": label, class: kind }, value(item))
      )
    )
  )
  const caption = el("caption", {}, `${items.length} ${items.length === 1 ? "item" : "items"}`)
  const table = el(
    "table",
    { class: "items" },
    caption,
    el("thead", {}, head),
    el("tbody", {}, ...body)
  )
  const id = "section-items"
  return el(
    "section",
    { class: "part", "aria-labelledby": id },
    el("h3", { id }, "Items"),
    el("div", { class: "table-scroll" }, table)
  )
}

function renderOrder(order) {
  const { delivery, payment } = order
  const title = el(
    "h2",
    { id: "order-title", tabindex: "-1" },
    "Order ",
    el("code", {}, order.order_uid)
  )
  card.replaceChildren(
    title,
    fields(null, [
      ["Track number", order.track_number],
      ["Entry", order.entry],
      ["Created", timeElement(new Date(order.date_created), order.date_created)],
      ["Customer", order.customer_id],
      ["Delivery service", order.delivery_service],
      ["Locale", order.locale],
      ["Shard key", order.shardkey],
      ["SM id", String(order.sm_id)],
      ["OOF shard", order.oof_shard],
      ["Internal signature", orDash(order.internal_signature)]
    ]),
    fields("Delivery", [
      ["Name", delivery.name],
      ["Phone", delivery.phone],
      ["Email", delivery.email],
      ["Address", delivery.address],
      ["City", delivery.city],
      ["Region", delivery.region],
      ["Zip", delivery.zip]
    ]),
    fields("Payment", [
      ["Amount", money(payment.amount, payment.currency)],
      ["Goods total", money(payment.goods_total, payment.currency)],
      ["Delivery cost", money(payment.delivery_cost, payment.currency)],
      ["Custom fee", money(payment.custom_fee, payment.currency)],
      ["Paid at", timeElement(new Date(payment.payment_dt * 1000), String(payment.payment_dt))],
      ["Provider", payment.provider],
      ["Bank", payment.bank],
      ["Transaction", payment.transaction],
      ["Request id", orDash(payment.request_id)]
    ]),
    itemsTable(order.items, payment.currency)
  )
  card.hidden = false
  title.focus()
}

function showProblem(heading, detail) {
  card.hidden = true
  card.replaceChildren()
  statusLine.textContent = ""
  problem.replaceChildren(el("h2", {}, heading), el("p", {}, detail))
  problem.hidden = false
}

function clearProblem() {
  problem.hidden = true
  problem.replaceChildren()
}

// Only the latest lookup may change the page: a slow answer to an earlier one is dropped.
let latestLookup = 0

async function lookUp(uid) {
  const lookup = ++latestLookup
  const current = () => lookup === latestLookup
  clearProblem()
  if (!UID_PATTERN.test(uid)) {
    showProblem(
      "That is not an order UID",
      "An order UID is 1 to 64 letters (A–Z, a–z) and digits."
    )
    input.focus()
    return
  }
  statusLine.textContent = `Looking up ${uid}…`
  let response
  try {
    response = await fetch(`/orders/${encodeURIComponent(uid)}`, {
      headers: { accept: "application/json" }
    })
  } catch {
    if (current()) {
      showProblem("The service cannot be reached", "Check your connection and try again.")
    }
    return
  }
  if (!current()) return
  if (response.ok) {
    let order
    try {
      order = await response.json()
    } catch {
      showProblem("Something went wrong", "The service sent an answer that is not an order.")
      return
    }
    if (!current()) return
    statusLine.textContent = `Showing order ${uid}.`
    renderOrder(order)
    return
  }
  if (response.status === 404) {
    showProblem(
      "Order not found",
      `No order with UID ${uid} is stored. Check the UID and try again.`
    )
  } else if (response.status === 400) {
    showProblem(
      "That is not an order UID",
      "An order UID is 1 to 64 letters (A–Z, a–z) and digits."
    )
  } else if (response.status === 503) {
    const wait = Number(response.headers.get("retry-after"))
    const when = Number.isFinite(wait) && wait > 0 ? ` in ${wait} seconds` : " in a moment"
    showProblem(
      "Orders cannot be looked up right now",
      `The order database is unavailable and this order is not in the cache. Try again${when}.`
    )
  } else {
    showProblem("Something went wrong", `The service answered ${response.status}. Try again later.`)
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault()
  const uid = input.value.trim()
  const url = new URL(window.location.href)
  url.searchParams.set("uid", uid)
  history.pushState({ uid }, "", url)
  void lookUp(uid)
})

function fromLocation() {
  const uid = new URL(window.location.href).searchParams.get("uid")
  if (uid === null) {
    card.hidden = true
    clearProblem()
    statusLine.textContent = ""
    return
  }
  input.value = uid
  void lookUp(uid.trim())
}

window.addEventListener("popstate", fromLocation)
fromLocation()
