import { Secret, TOTP } from 'otpauth'

/** RFC 6238 with the parameters every authenticator app accepts: SHA-1, 6 digits, 30-second steps. */
const PERIOD_S = 30

function totp(secretBase32: string, issuer = 'Ponte', label = 'staff'): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD_S, secret: Secret.fromBase32(secretBase32) })
}

/** A new random 160-bit secret, base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32
}

/**
 * The time step a code matches (one step of clock drift either way is accepted), or `undefined`. Callers refuse a
 * step already used by the same account, so a code works once.
 */
export function matchTotp(secretBase32: string, code: string, now: Date): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined
  const delta = totp(secretBase32).validate({ token: code, timestamp: now.getTime(), window: 1 })
  if (delta === null) return undefined
  return Math.floor(now.getTime() / 1000 / PERIOD_S) + delta
}

/** The current code (for the CLI's enrolment check and for tests). */
export function currentTotp(secretBase32: string, now: Date): string {
  return totp(secretBase32).generate({ timestamp: now.getTime() })
}

/** The `otpauth://` URI an authenticator app scans. */
export function totpUri(secretBase32: string, email: string): string {
  return totp(secretBase32, 'Ponte', email).toString()
}
