import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { STAGE_ORDER, stagesFor, type StageName } from './pipeline.ts'
import { parseRouteTable } from './route-table.ts'

const routes = parseRouteTable(JSON.parse(readFileSync(new URL('../routes.generated.json', import.meta.url), 'utf8')))
const route = (key: string) => routes.find((r) => r.key === key)!
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

describe('the pipeline of each route', () => {
  test('a consent-bound data route runs every protected stage, and settles its monthly usage', () => {
    expect(stagesFor(route('GET /open-banking/accounts/v2/accounts/{accountId}/balances'))).toEqual(
      ['certificate', 'token', 'binding', 'interactionId', 'scope', 'consent', 'organisation', 'limits', 'forward', 'monthlyUsage'],
    )
  })

  test('a client-credentials consent route skips the consent and the monthly usage', () => {
    expect(stagesFor(route('POST /open-banking/consents/v3/consents'))).toEqual(
      ['certificate', 'token', 'binding', 'interactionId', 'scope', 'organisation', 'limits', 'forward'],
    )
  })

  test('a consent-bound route without a monthly limit checks the consent but counts no monthly usage', () => {
    const stages = stagesFor(route('GET /open-banking/resources/v3/resources'))
    expect(stages).toContain('consent')
    expect(stages).not.toContain('monthlyUsage')
  })

  test('a signed payments route verifies the request JWS and its jti before the limits, and signs the answer after forwarding', () => {
    expect(stagesFor(route('POST /open-banking/payments/v4/consents'))).toEqual(
      ['certificate', 'token', 'binding', 'interactionId', 'scope', 'organisation', 'signedRequest', 'jtiReplay', 'limits', 'forward', 'signedResponse'],
    )
    // The payment consent of POST /pix/payments is checked by its owner: no consent stage.
    expect(stagesFor(route('POST /open-banking/payments/v5/pix/payments'))).not.toContain('consent')
    expect(stagesFor(route('GET /open-banking/payments/v4/pix/payments/{paymentId}'))).toEqual(
      ['certificate', 'token', 'binding', 'interactionId', 'scope', 'organisation', 'limits', 'forward', 'signedResponse'],
    )
  })

  test('the data routes run no signed-message stage (no cost on their hot path)', () => {
    for (const r of routes) {
      if (r.path.startsWith('/open-banking/payments/')) continue
      const stages = stagesFor(r)
      for (const s of ['signedRequest', 'jtiReplay', 'signedResponse'] as const) expect(stages, r.key).not.toContain(s)
    }
  })

  test('an open-data route is only limited and answered from the cache or the owning service', () => {
    expect(stagesFor(route('GET /open-banking/channels/v2/branches'))).toEqual(['limits', 'openDataForward'])
  })

  test('every route of the table runs its stages in the one order, and forwards exactly once', () => {
    for (const r of routes) {
      const stages = stagesFor(r)
      const positions = stages.map((s) => STAGE_ORDER.indexOf(s))
      expect(positions, r.key).toEqual([...positions].sort((a, b) => a - b))
      expect(new Set(stages).size, r.key).toBe(stages.length)
      expect(stages.filter((s) => s === 'forward' || s === 'openDataForward'), r.key).toHaveLength(1)
    }
  })

  test("the README's step list names the stages in the pipeline's order", () => {
    const section = readme.slice(readme.indexOf('## Pipeline'), readme.indexOf('\n## ', readme.indexOf('## Pipeline') + 1))
    const steps = [...section.matchAll(/^\| (\d+)\. `([A-Za-z]+)`/gm)].map((m) => [Number(m[1]), m[2] as StageName] as const)
    expect(steps.map(([n]) => n)).toEqual(STAGE_ORDER.map((_, i) => i + 1))
    expect(steps.map(([, name]) => name)).toEqual([...STAGE_ORDER])
  })
})
