// The sandbox directory and the connector as they really run (one `directory` process), with the real auth-server
// process: `pnpm ponte tpp onboard` twice in a row, then both bundles register at once. The connector's periodic sync
// is off, so only the sandbox telling the connector of each change can make the second organisation known.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot, serviceTestEnv, startServiceProcess, testSchema, testServiceAuth, type ServiceProcess, type TestSchema } from '@ponte/testkit'
import { services } from '../../../scripts/stack-services.ts'

const run = promisify(execFile)

async function freePort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as AddressInfo
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

describe('sandbox → connector: an organisation onboarded at the sandbox is known at once', () => {
  const schemas: Record<string, TestSchema> = { directory: testSchema('prop_directory'), sandbox: testSchema('prop_sandbox'), auth: testSchema('prop_auth') }
  const procs: ServiceProcess[] = []
  let dir: string
  let sandboxUrl: string
  let issuer: string
  let caBundle: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ponte-propagation-'))
    const auth = testServiceAuth()
    const shared = await serviceTestEnv(auth.env, { redisDb: 9 })
    caBundle = await readFile(shared.TLS_CLIENT_CA_FILE!, 'utf8')
    const [directoryPort, sandboxPort, authPort] = [await freePort(), await freePort(), await freePort()]
    sandboxUrl = `https://localhost:${sandboxPort}`
    issuer = `https://localhost:${authPort}`
    const envOf = (name: string) => services.find((s) => s.name === name)!.env(shared)
    procs.push(await startServiceProcess('directory', {
      ...shared, ...envOf('directory'), HOST: '127.0.0.1', PORT: String(directoryPort), DB_SCHEMA: schemas.directory!.name,
      DIRECTORY_SANDBOX_PORT: String(sandboxPort), DIRECTORY_SANDBOX_HOST: '127.0.0.1', DIRECTORY_SANDBOX_DB_SCHEMA: schemas.sandbox!.name,
      DIRECTORY_SANDBOX_PUBLIC_URL: sandboxUrl, AUTH_SERVER_ISSUER: issuer, DIRECTORY_SYNC_ENABLED: 'false',
    }, 60_000))
    procs.push(await startServiceProcess('auth-server', {
      ...shared, ...envOf('auth-server'), HOST: '127.0.0.1', PORT: String(authPort), DB_SCHEMA: schemas.auth!.name, ISSUER: issuer,
      DIRECTORY_URL: `http://127.0.0.1:${directoryPort}`, CONSENT_URL: 'http://127.0.0.1:9', CONNECTORS_URL: 'http://127.0.0.1:9',
      JWKS_FETCH_ALLOWED_ORIGINS: sandboxUrl,
    }, 60_000))
  }, 120_000)

  afterAll(async () => {
    for (const p of procs) await p.stop()
    for (const s of Object.values(schemas)) await s.drop().catch(() => undefined)
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  async function onboard(name: string): Promise<string> {
    const out = join(dir, name)
    await run(process.execPath, ['scripts/ponte.ts', 'tpp', 'onboard', '--name', name, '--redirect-uri', 'https://tpp.example.com/cb', '--out', out, '--directory', sandboxUrl], { cwd: repoRoot })
    return out
  }

  async function register(bundle: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const [chain, key, ssa] = await Promise.all(['transport.chain.pem', 'transport.key.pem', 'ssa.jwt'].map((f) => readFile(join(bundle, f), 'utf8')))
    const agent = new Agent({ connect: { cert: chain, key, ca: caBundle } })
    try {
      const res = await request(`${issuer}/register`, {
        method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ software_statement: ssa!.trim(), redirect_uris: ['https://tpp.example.com/cb'] }),
      })
      return { status: res.statusCode, body: await res.body.json() as Record<string, unknown> }
    } finally {
      await agent.close()
    }
  }

  it('`pnpm ponte tpp onboard` twice in a row: both bundles register at once', async () => {
    const a = await onboard('Fintech A')
    const b = await onboard('Fintech B')
    const first = await register(a)
    const second = await register(b)
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    expect(second.status, JSON.stringify(second.body)).toBe(201)
    // And a third, onboarded after the first registration forced nothing: still known at once.
    const c = await onboard('Fintech C')
    expect((await register(c)).status).toBe(201)
  }, 120_000)
})
