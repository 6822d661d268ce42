// The sample requests of docs/tpp/samples against the official specs, so that they cannot rot: one folder per API the
// gateway routes, every file a documented operation (method, path template, query parameters) whose body validates
// against the operation's request schema; and the kit's own token choice matches what the route table says.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { repoRoot, specValidator } from '@ponte/testkit'
import { fillPath, parseSample, tokenFor } from '@ponte/tpp-kit'

type Json = Record<string, unknown>
const samplesDir = `${repoRoot}docs/tpp/samples`
const routes = JSON.parse(readFileSync(`${repoRoot}services/gateway/src/routes.generated.json`, 'utf8')) as Array<{ method: string; path: string; specFile: string; specPath: string; tokenKind?: string; scopes: string[] }>

/** Base path of each official spec (its first server URL's path) → the file. */
const specByBase = new Map<string, string>()
for (const file of readdirSync(`${repoRoot}specs/ofb`).filter((f) => f.endsWith('.yaml'))) {
  const servers = specValidator(file).doc.servers as Array<{ url: string }> | undefined
  const url = servers?.[0]?.url
  if (url?.includes('/open-banking/')) specByBase.set(new URL(url).pathname.replace(/\/$/, ''), file)
}

const samples = readdirSync(samplesDir, { withFileTypes: true }).filter((d) => d.isDirectory()).flatMap((d) =>
  readdirSync(`${samplesDir}/${d.name}`).filter((f) => f.endsWith('.json')).map((f) => ({ api: d.name, file: `${d.name}/${f}`, sample: parseSample(readFileSync(`${samplesDir}/${d.name}/${f}`, 'utf8'), f) })))

/** The spec file and the operation of a sample's path: its template in the spec, matched segment by segment. */
function operation(method: string, path: string): { spec: string; template: string; op: Json } | undefined {
  const bare = path.split('?')[0]!
  for (const [base, spec] of specByBase) {
    if (!bare.startsWith(`${base}/`)) continue
    const rest = bare.slice(base.length).split('/')
    const paths = specValidator(spec).doc.paths as Record<string, Json>
    for (const [template, item] of Object.entries(paths)) {
      const parts = template.split('/')
      if (parts.length !== rest.length || !parts.every((p, i) => p === rest[i] || (/^\{\w+\}$/.test(p) && p === rest[i]))) continue
      const op = item[method.toLowerCase()] as Json | undefined
      if (op) return { spec, template, op }
    }
  }
  return undefined
}

function deref(doc: Json, node: Json): Json {
  let n = node
  while (typeof n.$ref === 'string') {
    n = n.$ref.replace(/^#\//, '').split('/').reduce<unknown>((acc, k) => (acc as Json)[k.replaceAll('~1', '/').replaceAll('~0', '~')], doc) as Json
  }
  return n
}

describe('docs/tpp/samples', () => {
  it('has a folder for every API the gateway routes, and only for those', () => {
    const routed = new Set(routes.map((r) => r.specFile))
    const folders = new Set(samples.map((s) => s.api))
    const specsWithSamples = new Set(samples.map((s) => operation(s.sample.method, s.sample.path)?.spec))
    expect([...routed].filter((f) => !specsWithSamples.has(f))).toEqual([])
    expect(folders.size).toBeGreaterThanOrEqual(routed.size - 1) // payments v4 and v5 have a folder each; discovery is the common spec
  })

  it.each(samples.map((s) => [s.file, s.sample] as const))('%s is a documented operation with a valid body', (_file, sample) => {
    const found = operation(sample.method, sample.path)
    expect(found, `${sample.method} ${sample.path} is in no official spec`).toBeDefined()
    const { spec, op } = found!
    const v = specValidator(spec)
    // Query parameters the operation declares.
    const declared = new Set(((op.parameters ?? []) as Json[]).map((p) => deref(v.doc, p)).filter((p) => p.in === 'query').map((p) => String(p.name)))
    const query = [...new URLSearchParams(sample.path.split('?')[1] ?? '').keys()]
    expect(query.filter((q) => !declared.has(q)), `query parameters of ${sample.path}`).toEqual([])
    // The body: required when the operation has one, valid against its schema (JSON, or the claims of a JWS).
    const requestBody = op.requestBody ? deref(v.doc, op.requestBody as Json) : undefined
    if (!requestBody) {
      expect(sample.body, 'a body for an operation that takes none').toBeUndefined()
      return
    }
    expect(sample.body, 'the operation needs a body').toBeDefined()
    const content = requestBody.content as Record<string, { schema: Json }>
    const schema = Object.values(content)[0]!.schema
    const ref = typeof schema.$ref === 'string' ? schema.$ref : undefined
    expect(ref, 'request schemas of the specs are named components').toMatch(/^#\/components\/schemas\//)
    expect(v.checkSchema(ref!.split('/').pop()!, sample.body)).toEqual([])
  })

  it('each sample asks for the token its route needs, as the kit sends it (client_credentials, the consent\'s, none)', () => {
    for (const { file, sample } of samples) {
      const template = sample.path.split('?')[0]!
      const route = routes.find((r) => r.method === sample.method && r.path === template)
      expect(route, `${file}: ${sample.method} ${template} is not routed by the gateway`).toBeDefined()
      const want = tokenFor(sample.method, template)
      expect(want.kind, file).toBe(route!.tokenKind ?? 'none')
      if (want.kind === 'client') expect(route!.scopes, file).toContain(want.scope)
    }
  })

  it('fills path parameters, refusing missing and unknown ones', () => {
    expect(fillPath('/open-banking/accounts/v2/accounts/{accountId}/balances', ['accountId=a b/c'])).toBe('/open-banking/accounts/v2/accounts/a%20b%2Fc/balances')
    expect(() => fillPath('/open-banking/accounts/v2/accounts/{accountId}', [])).toThrow(/--param accountId=/)
    expect(() => fillPath('/open-banking/accounts/v2/accounts', ['accountId=1'])).toThrow(/has no \{accountId\}/)
    expect(() => parseSample('{"method":"GET","path":"/x","description":"d"}')).toThrow(/must start with \/open-banking\//)
    expect(() => parseSample('{"method":"GET","path":"/open-banking/x","description":"d","extra":1}')).toThrow(/unknown member/)
  })
})
