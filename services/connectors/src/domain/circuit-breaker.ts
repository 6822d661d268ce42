/**
 * A small circuit breaker for calls to an external core. Closed: calls pass and consecutive failures are counted;
 * `failureThreshold` in a row open it. Open: calls are refused at once for `resetMs`. Then half-open: one trial call
 * passes; its success closes the circuit, its failure opens it again. Pure: the clock is passed in.
 */
export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitBreaker {
  /** Whether a call may go out now (in half-open, only the first caller gets true until the trial settles). */
  tryAcquire(now: number): boolean
  onSuccess(): void
  onFailure(now: number): void
  state(now: number): CircuitState
}

export function createCircuitBreaker(options: { failureThreshold: number; resetMs: number }): CircuitBreaker {
  let failures = 0
  let openedAt: number | undefined
  let trialInFlight = false
  const state = (now: number): CircuitState => {
    if (openedAt === undefined) return 'closed'
    return now - openedAt >= options.resetMs ? 'half-open' : 'open'
  }
  return {
    state,
    tryAcquire(now) {
      const s = state(now)
      if (s === 'closed') return true
      if (s === 'open' || trialInFlight) return false
      trialInFlight = true
      return true
    },
    onSuccess() {
      failures = 0
      openedAt = undefined
      trialInFlight = false
    },
    onFailure(now) {
      failures += 1
      if (trialInFlight || failures >= options.failureThreshold) openedAt = now
      trialInFlight = false
    },
  }
}
