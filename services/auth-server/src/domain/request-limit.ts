/**
 * Per-address request budgets of the OAuth endpoints, one per class of endpoint, over a sliding minute
 * (docs/decisions/auth-server-request-limits.md). `public`: what a browser or anyone may call (authorization endpoint,
 * journey pages, JWKS, discovery); `mtls`: the endpoints that need the client certificate (token, PAR, registration,
 * introspection, revocation, userinfo). The platform's paths are never limited.
 */
export type RequestClass = 'public' | 'mtls'

/** Requests per window and per address of each class; 0 turns that class's limit off. */
export type RequestBudgets = Readonly<Record<RequestClass, number>>

/** The window the budgets are counted over. */
export const REQUEST_LIMIT_WINDOW_MS = 60_000

/**
 * What an address is counted under: an IPv4 address itself; an IPv6 address by its /64, which one subscriber
 * usually holds whole (counting single IPv6 addresses would let a client rotate through 2^64 of them).
 */
export function addressKey(address: string): string {
  // Only IPv6 addresses hold a colon (`clientAddress` has already turned an IPv4-mapped address into its dotted form).
  if (!address.includes(':')) return address
  const bare = address.toLowerCase().replace(/%.*$/, '')
  const [head = '', tail] = bare.split('::')
  const groups = (s: string | undefined) => (s ? s.split(':') : [])
  const h = groups(head)
  const t = groups(tail)
  // An embedded IPv4 address (the last part) stands for two groups.
  const embedded = [...h, ...t].some((g) => g.includes('.')) ? 1 : 0
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length - embedded).fill('0'), ...t]
  return `${all.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`
}

/**
 * The sliding-window estimate of the requests in the last window: the current window's count plus the previous
 * window's, weighted by the share of the previous window still inside the last `windowMs`.
 */
export function slidingCount(previous: number, current: number, elapsedMs: number, windowMs: number): number {
  return (previous * (windowMs - elapsedMs)) / windowMs + current
}

/**
 * Milliseconds until one more request fits the budget, after a refusal (the refused request is not counted):
 * within the current window when the previous window's weight fading is enough, else into the next one, where the
 * current count becomes the previous.
 */
export function msUntilAllowed(budget: number, previous: number, current: number, elapsedMs: number, windowMs: number): number {
  // Multiplied out before dividing, so whole budgets give whole milliseconds (no 20000.000000000004).
  if (current + 1 <= budget) {
    if (previous === 0) return 0
    return Math.max(0, Math.ceil(windowMs - ((budget - current - 1) * windowMs) / previous - elapsedMs))
  }
  return windowMs - elapsedMs + Math.max(0, Math.ceil(windowMs - ((budget - 1) * windowMs) / current))
}
