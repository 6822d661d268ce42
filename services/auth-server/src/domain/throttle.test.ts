import { describe, expect, it } from 'vitest'
import { loginRules, waitSchedule } from './throttle.ts'

describe('attempt throttle rules', () => {
  const rules = loginRules({ maxFailures: 5, holdS: 900, windowS: 900, addressMaxFailures: 100 })

  it('per CPF: two free failures, then a doubling wait, then the hold from the fifth failure', () => {
    expect(waitSchedule(rules.cpf)).toEqual([0, 0, 2_000, 4_000, 900_000])
  })

  it('per address: no slow-down, a hold only once the NAT-sized budget is spent', () => {
    const schedule = waitSchedule(rules.address)
    expect(schedule).toHaveLength(100)
    expect(schedule.slice(0, 99).every((w) => w === 0)).toBe(true)
    expect(schedule[99]).toBe(900_000)
  })
})
