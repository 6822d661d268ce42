import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DomainError } from './errors.ts'
import { createInternalClient, type InternalClient } from './internal-client.ts'
import { createServiceTokenIssuer, generateServiceKeyPair } from './service-auth.ts'

const Thing = z.object({ id: z.string() })
let server: Server
let client: InternalClient
const seen: string[] = []

beforeAll(async () => {
  // A stand-in service: /things/1 exists, /things/gone is 404, /things/bad is refused with an OFB 422.
  server = createServer((req, res) => {
    seen.push(String(req.headers['x-ponte-service-token'] ?? ''))
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    if (req.url === '/things/1') return reply(200, { id: '1' })
    if (req.url === '/things/bad') return reply(422, { errors: [{ code: 'NOPE', title: 'Refused', detail: 'not like that' }], meta: {} })
    return reply(404, { errors: [{ code: 'NOT_FOUND', title: 'Not found', detail: 'no such thing' }], meta: {} })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  client = createInternalClient({ baseUrl: `http://127.0.0.1:${port}`, audience: 'things', issuer: createServiceTokenIssuer('gateway', generateServiceKeyPair().privateKeyPem) })
})

afterAll(async () => {
  await client.close()
  await new Promise((resolve) => server.close(resolve))
})

describe('internal client', () => {
  it('parses a 2xx body and sends a service token', async () => {
    await expect(client.call('GET', '/things/1', Thing)).resolves.toEqual({ id: '1' })
    expect(seen.at(-1)).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/)
  })

  it('call: a 404 throws NOT_FOUND with the status kept', async () => {
    const err = await client.call('GET', '/things/gone', Thing).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DomainError)
    expect((err as DomainError).status).toBe(404)
  })

  it('find: a 404 answers undefined, a found thing its body, any other refusal still throws', async () => {
    await expect(client.find('GET', '/things/gone', Thing)).resolves.toBeUndefined()
    await expect(client.find('GET', '/things/1', Thing)).resolves.toEqual({ id: '1' })
    const err = await client.find('GET', '/things/bad', Thing).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DomainError)
    expect((err as DomainError).status).toBe(422)
    expect((err as DomainError).ofbCode).toBe('NOPE')
  })
})
