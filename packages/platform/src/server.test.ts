import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { DomainError } from './errors.ts'
import { createLogger } from './logger.ts'
import { createServer, isInteractionId } from './server.ts'

function build(readiness: { name: string; check: () => Promise<unknown> }[] = []) {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb() } })
  const app = createServer({ logger: createLogger({ service: 't', destination }), readiness })
  app.get('/boom', async () => { throw new Error('db password=hunter2 leaked') })
  app.get('/refuse', async () => { throw new DomainError('UNPROCESSABLE_ENTITY', 'rule broken', { ofbCode: 'REGRA_X' }) })
  app.post('/body', { schema: { body: z.object({ n: z.number().int() }) } }, async (req) => ({ n: req.body.n }))
  app.get('/log', async (req) => { req.log.info('inside'); return { ok: true } })
  app.get('/db-restarting', async () => { throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) })
  app.get('/db-cut', async () => { throw new Error('query failed', { cause: new Error('Connection terminated unexpectedly') }) })
  app.get('/unavailable', async () => { throw new DomainError('SERVICE_UNAVAILABLE', 'the core is down', { cause: new Error('connect ECONNREFUSED 10.0.0.9:443') }) })
  const shed = new DomainError('SITE_OVERLOADED', 'overloaded', { quiet: true, headers: { 'retry-after': '1' } })
  app.get('/shed', async () => { throw shed })
  return { app, lines }
}

const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

describe('server factory', () => {
  it('maps a DomainError to the OFB error envelope with its status', async () => {
    const { app } = build()
    const res = await app.inject('/refuse')
    expect(res.statusCode).toBe(422)
    const body = res.json()
    expect(body.errors).toEqual([{ code: 'REGRA_X', title: 'Regra de negócio violada', detail: 'rule broken' }])
    expect(body.meta.requestDateTime).toMatch(iso)
  })

  it('answers 500 without leaking internals', async () => {
    const { app, lines } = build()
    const res = await app.inject('/boom')
    expect(res.statusCode).toBe(500)
    expect(res.body).not.toContain('hunter2')
    expect(res.json().errors[0].code).toBe('INTERNAL_ERROR')
    expect(lines.some((l) => l.level === 'error')).toBe(true)
  })

  it('answers 503 UPSTREAM_UNAVAILABLE when PostgreSQL or Redis went away under the request (a restart), not 500', async () => {
    const { app } = build()
    for (const url of ['/db-restarting', '/db-cut']) {
      const res = await app.inject(url)
      expect(res.statusCode, url).toBe(503)
      expect(res.json().errors[0].code).toBe('UPSTREAM_UNAVAILABLE')
      expect(res.json().meta.requestDateTime).toMatch(iso)
    }
    expect((await app.inject('/boom')).statusCode).toBe(500)
  })

  it('logs a refusal it chose without a stack (a 5xx one at warn, with its cause), and a quiet one not at all', async () => {
    const { app, lines } = build()
    const unavailable = await app.inject({ method: 'GET', url: '/unavailable' })
    expect(unavailable.statusCode).toBe(503)
    const refused = lines.filter((l) => l.msg === 'request refused')
    expect(refused).toHaveLength(1)
    expect(refused[0]).toMatchObject({ level: 'warn', code: 'SERVICE_UNAVAILABLE', detail: 'the core is down', err: { message: 'connect ECONNREFUSED 10.0.0.9:443' } })
    expect(JSON.stringify(refused[0])).not.toContain('DomainError')
    expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({ level: 'warn', status: 503 })
    expect(lines.some((l) => l.level === 'error')).toBe(false)

    lines.length = 0
    for (let i = 0; i < 3; i++) {
      const shed = await app.inject({ method: 'GET', url: '/shed' })
      expect(shed.statusCode).toBe(529)
      expect(shed.headers['retry-after']).toBe('1')
      expect(shed.json<{ errors: Array<{ code: string }> }>().errors[0]!.code).toBe('SITE_OVERLOADED')
    }
    expect(lines).toEqual([])
  })

  it('answers schema violations with 400 INVALID_PARAMETER', async () => {
    const { app } = build()
    const res = await app.inject({ method: 'POST', url: '/body', payload: { n: 'x' } })
    expect(res.statusCode).toBe(400)
    expect(res.json().errors[0].code).toBe('INVALID_PARAMETER')
    const bad = await app.inject({ method: 'POST', url: '/body', payload: '{not json', headers: { 'content-type': 'application/json' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().errors[0].code).toBe('INVALID_REQUEST')
  })

  it('answers unknown routes with 404 in the envelope', async () => {
    const { app } = build()
    const res = await app.inject('/nope?x=1')
    expect(res.statusCode).toBe(404)
    expect(res.json().errors[0]).toMatchObject({ code: 'NOT_FOUND', detail: 'no route for GET /nope' })
  })

  it('echoes a valid x-fapi-interaction-id and binds it to the request logs', async () => {
    const { app, lines } = build()
    const id = '2b9d3f0e-6c1a-4d4e-9f7a-1a2b3c4d5e6f'
    const res = await app.inject({ url: '/log', headers: { 'x-fapi-interaction-id': id } })
    expect(res.headers['x-fapi-interaction-id']).toBe(id)
    expect(lines.find((l) => l.msg === 'inside')?.interactionId).toBe(id)
  })

  it('generates an interaction id when the given one is malformed', async () => {
    const { app } = build()
    const res = await app.inject({ url: '/log', headers: { 'x-fapi-interaction-id': 'not-a-uuid' } })
    const echoed = res.headers['x-fapi-interaction-id']
    expect(echoed).not.toBe('not-a-uuid')
    expect(isInteractionId(echoed)).toBe(true)
  })

  it('reports readiness from every dependency check', async () => {
    let dbUp = true
    const { app } = build([
      { name: 'postgres', check: async () => { if (!dbUp) throw new Error('connection refused') } },
      { name: 'kafka', check: async () => true },
    ])
    expect((await app.inject('/healthz')).statusCode).toBe(200)
    const ok = await app.inject('/readyz')
    expect(ok.statusCode).toBe(200)
    expect(ok.json().checks).toEqual({ postgres: { ok: true }, kafka: { ok: true } })
    dbUp = false
    const down = await app.inject('/readyz')
    expect(down.statusCode).toBe(503)
    expect(down.json().checks.postgres).toEqual({ ok: false, error: 'connection refused' })
  })

  it('lets in-flight requests finish when closing', async () => {
    const { app } = build()
    let release: () => void = () => undefined
    let entered: () => void = () => undefined
    const inHandler = new Promise<void>((r) => { entered = r })
    app.get('/slow', async () => { await new Promise<void>((r) => { release = r; entered() }); return { done: true } })
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const inFlight = fetch(`${base}/slow`)
    // Closing starts once the request is in its handler (a fixed wait let a loaded machine close first: 503).
    await inHandler
    const closed = app.close()
    release()
    const res = await inFlight
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ done: true })
    await closed
  })

  it('answers a known path with another method 405 and Allow, in the envelope', async () => {
    const { app } = build()
    const res = await app.inject({ method: 'DELETE', url: '/body' })
    expect(res.statusCode).toBe(405)
    expect(res.headers.allow).toBe('POST')
    expect(res.json().errors[0].code).toBe('METHOD_NOT_ALLOWED')
    expect((await app.inject({ method: 'PUT', url: '/refuse' })).headers.allow).toBe('GET, HEAD')
  })

  it('refuses more than one Authorization header, and bad URL encoding, in the envelope', async () => {
    const { app } = build()
    app.get('/p/:id', async () => ({}))
    const base = await app.listen({ host: '127.0.0.1', port: 0 })
    const { rawRequest } = await import('@ponte/testkit')
    const host = new URL(base).host
    const dup = await rawRequest(base, `GET /log HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n`)
    expect(dup.status).toBe(400)
    expect((dup.json as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('INVALID_REQUEST')
    const badUrl = await rawRequest(base, `GET /p/%E0%A4%A HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
    expect(badUrl.status).toBe(400)
    expect((badUrl.json as { errors: unknown[] }).errors).toHaveLength(1)
    await app.close()
  })

  it('writes refusals through the surface\'s writer when it has one', async () => {
    const app = createServer({ logger: createLogger({ service: 't', destination: new Writable({ write(_c, _e, cb) { cb() } }) }), refusalBody: (r) => ({ error: r.code.toLowerCase(), error_description: r.detail }) })
    app.post('/x', async () => ({}))
    const res = await app.inject({ method: 'POST', url: '/x', payload: '{', headers: { 'content-type': 'application/json' } })
    expect(res.json()).toEqual({ error: 'invalid_request', error_description: expect.any(String) })
    expect((await app.inject('/nope')).json()).toEqual({ error: 'not_found', error_description: 'no route for GET /nope' })
  })
})
