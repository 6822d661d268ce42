/**
 * Throttling of failed attempts (journey login now, the payment TOTP step next): failures are counted per subject
 * (a CPF, a client address, a TOTP enrolment), each subject kind with its own rule. A few failures are free; then each
 * further failure makes the subject wait longer before the next attempt; at `maxFailures` the subject is held for
 * `holdMs`. Failures of one subject never hold another. Design: docs/decisions/auth-server-attempt-throttling.md.
 */
export interface ThrottleRule {
  /** The subject kind, part of the storage key (`cpf`, `address`, `totp`). */
  name: string
  /** Failures answered without any wait. */
  freeFailures: number
  /** The failure that starts the hold (and every one after it renews it). */
  maxFailures: number
  /** The first wait after the free failures; it doubles with each further failure until the hold. */
  slowBaseMs: number
  /** How long the subject is held from its `maxFailures`-th failure on. */
  holdMs: number
  /** Failures are forgotten this long after the last one (at least the hold). */
  forgetAfterS: number
}

/** A subject an attempt is about, under its rule. */
export interface ThrottleSubject {
  rule: ThrottleRule
  id: string
}

/** A subject that may not try before `until`. */
export interface ThrottleHold {
  rule: string
  until: Date
  /** Whether this is the hold (not a slow-down wait): the page says so. */
  held: boolean
  /** Whole seconds from now to `until` (at least 1), for `Retry-After`. */
  retryAfterS: number
}

/**
 * The wait imposed after the n-th failure (index n - 1), for n = 1 … maxFailures; the last entry (the hold) applies to
 * every failure from `maxFailures` on.
 */
export function waitSchedule(rule: ThrottleRule): number[] {
  const out: number[] = []
  for (let n = 1; n <= rule.maxFailures; n++) {
    if (n >= rule.maxFailures) out.push(rule.holdMs)
    else if (n <= rule.freeFailures) out.push(0)
    else out.push(Math.min(rule.holdMs, rule.slowBaseMs * 2 ** (n - rule.freeFailures - 1)))
  }
  return out
}

/**
 * The payment journey's TOTP rule (LoA3 step), per CPF: like the CPF's login rule, with its own counter, so wrong codes
 * and wrong passwords never share a budget (docs/decisions/auth-server-loa3-totp.md).
 */
export function totpRule(config: { maxFailures: number; holdS: number; windowS: number }): ThrottleRule {
  return {
    name: 'totp',
    freeFailures: Math.min(2, config.maxFailures - 1),
    maxFailures: config.maxFailures,
    slowBaseMs: 2_000,
    holdMs: config.holdS * 1000,
    forgetAfterS: Math.max(config.windowS, config.holdS),
  }
}

/** The journey login rules: per CPF (slow down, then hold) and per client address (a budget for a shared NAT). */
export function loginRules(config: { maxFailures: number; holdS: number; windowS: number; addressMaxFailures: number }): { cpf: ThrottleRule; address: ThrottleRule } {
  return {
    cpf: {
      name: 'cpf',
      freeFailures: Math.min(2, config.maxFailures - 1),
      maxFailures: config.maxFailures,
      slowBaseMs: 2_000,
      holdMs: config.holdS * 1000,
      forgetAfterS: Math.max(config.windowS, config.holdS),
    },
    // Behind carrier-grade NAT or a proxy one address is many customers: no slow-down, a large budget per window,
    // and only failures count (a customer who mistypes once costs one).
    address: {
      name: 'address',
      freeFailures: config.addressMaxFailures - 1,
      maxFailures: config.addressMaxFailures,
      slowBaseMs: 0,
      holdMs: config.windowS * 1000,
      forgetAfterS: config.windowS,
    },
  }
}
