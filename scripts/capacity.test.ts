import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { assumptions, benchmarksPath, capacityPath, readInputs, regenerate, size } from './capacity.ts'

const bench = readFileSync(benchmarksPath, 'utf8')

describe('capacity model (docs/operations/capacity.md)', () => {
  it('the doc is what the figures in docs/benchmarks.md give (run `node scripts/capacity.ts`)', () => {
    const doc = readFileSync(capacityPath, 'utf8')
    expect(regenerate(doc, bench)).toBe(doc)
  })

  it('reads the gateway, Redis, token and consent figures from docs/benchmarks.md', () => {
    const inputs = readInputs(bench)
    expect(inputs.gatewayCpuUs.source).toMatch(/^docs\/benchmarks\.md/)
    expect(inputs.gatewayCpuUs.value).toBeGreaterThan(0)
    expect(inputs.redisCpuUs.source).toMatch(/^docs\/benchmarks\.md/)
    expect(inputs.tokensPerProcess.source).toMatch(/^docs\/benchmarks\.md/)
    // A figure the text does not hold and no partial run gave is an error, not a zero.
    expect(() => readInputs(bench.replace(/\| POST \/token client_credentials/, '| renamed'))).toThrow(/POST \/token/)
  })

  it('sizes follow the inputs: half the gateway CPU per request, half the gateway cores', () => {
    const inputs = readInputs(bench)
    const base = size(30_000, inputs)
    const faster = size(30_000, { ...inputs, gatewayCpuUs: { ...inputs.gatewayCpuUs, value: inputs.gatewayCpuUs.value / 2 } })
    expect(faster.gateway.cores).toBeLessThanOrEqual(Math.ceil(base.gateway.cores / 2))
    expect(size(3_000, inputs).postgres.writesPerSecond * 10).toBe(base.postgres.writesPerSecond)
  })

  it('names the tier nearest its ceiling: a costly limits script makes Redis the first bottleneck', () => {
    const inputs = readInputs(bench)
    const slowRedis = size(3_000, { ...inputs, redisCpuUs: { ...inputs.redisCpuUs, value: 400 } })
    expect(slowRedis.bottleneck).toMatch(/^Redis primary .*past it/)
    const slowTokens = size(3_000, { ...inputs, redisCpuUs: { ...inputs.redisCpuUs, value: 1 }, tokensPerProcess: { ...inputs.tokensPerProcess, value: 5 } })
    expect(slowTokens.bottleneck).toMatch(/^auth-server token signing/)
  })

  it('through the pooler, server connections follow the transactions in flight, not the pods', () => {
    const inputs = readInputs(bench)
    const base = size(30_000, inputs)
    const slower = size(30_000, inputs, { ...assumptions, pgTransactionMs: assumptions.pgTransactionMs * 2 })
    expect(slower.pooler.serverConnections).toBeGreaterThanOrEqual(2 * base.pooler.serverConnections - 1)
    expect(slower.pooler.clientConnections).toBe(base.pooler.clientConnections)
    expect(base.pooler.serverConnections).toBeLessThan(base.pooler.clientConnections)
    expect(base.pooler.maxConnections).toBe(base.pooler.serverConnections + base.pooler.directConnections + assumptions.pgReservedConnections)
  })
})
