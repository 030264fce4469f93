/**
 * What `GET /readyz` waits for besides the database: components that register themselves and
 * report whether they are working. With nothing registered the service is ready, so the HTTP
 * side needs no knowledge of which components exist.
 *
 * The consumer registers once when it starts, says `ready` once it has joined its group and
 * runs, `notReady(reason)` while it cannot, and is reported stopped when its scope closes.
 */
import { Context, Effect, Layer, Ref, type Scope } from "effect"

export type ComponentState =
  | { readonly component: string; readonly ready: true }
  | { readonly component: string; readonly ready: false; readonly reason: string }

export interface ComponentReadiness {
  readonly ready: Effect.Effect<void>
  readonly notReady: (reason: string) => Effect.Effect<void>
}

export interface ReadinessShape {
  /**
   * Registers a component, not ready ("starting") until it says otherwise. When the scope
   * closes the component stays listed as not ready ("stopped"): a replica that is shutting
   * down must stop receiving traffic, not look ready again.
   */
  readonly register: (component: string) => Effect.Effect<ComponentReadiness, never, Scope.Scope>
  /** Every registered component, in registration order. */
  readonly components: Effect.Effect<ReadonlyArray<ComponentState>>
}

export class Readiness extends Context.Service<Readiness, ReadinessShape>()(
  "order-service/Readiness"
) {
  static readonly layer = Layer.effect(Readiness, makeReadiness())
}

function makeReadiness() {
  return Effect.gen(function* () {
    const states = yield* Ref.make<ReadonlyMap<string, ComponentState>>(new Map())
    const put = (state: ComponentState) =>
      Ref.update(states, (map) => new Map(map).set(state.component, state))

    const register = (component: string) =>
      Effect.acquireRelease(
        put({ component, ready: false, reason: "starting" }).pipe(
          Effect.as<ComponentReadiness>({
            ready: put({ component, ready: true }),
            notReady: (reason) => put({ component, ready: false, reason })
          })
        ),
        () => put({ component, ready: false, reason: "stopped" })
      )

    return Readiness.of({
      register,
      components: Effect.map(Ref.get(states), (map) => [...map.values()])
    })
  })
}
