/**
 * The sentinel errors of order-service. Upper layers match on these tags; only the layer
 * that talks to a store or a broker knows that store's own error codes.
 */
import { Schema } from "effect"

/** No order is stored under that uid. */
export class OrderNotFound extends Schema.TaggedError<OrderNotFound>()("OrderNotFound", {
  orderUid: Schema.String
}) {
  override get message() {
    return `no order with order_uid ${this.orderUid}`
  }
}

/** The uid is taken by an order with different content: a conflict, not a redelivery. */
export class OrderAlreadyExists extends Schema.TaggedError<OrderAlreadyExists>()(
  "OrderAlreadyExists",
  { orderUid: Schema.String }
) {
  override get message() {
    return `order_uid ${this.orderUid} is already stored with different content`
  }
}

/**
 * The database cannot be reached or cannot serve right now (refused, reset, timed out, shut
 * down, out of resources). Retrying later can help; the order itself is fine.
 */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()(
  "DatabaseUnavailable",
  { operation: Schema.String, detail: Schema.String }
) {
  override get message() {
    return `database unavailable during ${this.operation}: ${this.detail}`
  }
}

/**
 * The input is not a valid order: `path` names the offending field (`$` for the whole
 * message), `reason` says what was expected. Retrying cannot help.
 */
export class InvalidOrder extends Schema.TaggedError<InvalidOrder>()("InvalidOrder", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `invalid order at ${this.path}: ${this.reason}`
  }
}
