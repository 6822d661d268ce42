// Generates services/gateway/src/routes.generated.json from the official OFB specs (paths, servers, security scopes,
// per-endpoint permissions) and the NFR endpoint reference (frequency class, TPM floor, monthly operational limit).
// Run: `node services/gateway/scripts/generate-routes.ts` (or with `--check` to fail when the committed file is stale).
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { isPermission, nfrMonthlyFloor, nfrTpmFloor, parseNfrCsv } from '@ponte/contracts'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const specDir = `${root}specs/ofb/`
export const outputFile = fileURLToPath(new URL('../src/routes.generated.json', import.meta.url))

/**
 * The APIs the gateway exposes, which service owns each, and the API name the NFR reference uses for it. The
 * regulator's Admin metrics and Discovery are served by trace (it owns the call data and availability), public like
 * open data. Payments (docs/regulation/payments.md): consents to consent, everything under `/pix/payments` and v5's
 * `/consents/{consentId}/pix/payments` to connectors (`paymentsService`); their bodies are signed (`application/jwt` in
 * the spec) and the NFR reference lists only some of their paths (`nfrFallback`: the API's class, identical for every
 * payments row).
 */
const apis = [
  { file: 'consents-v3.3.1.yaml', service: 'consent', nfrApi: '[DC] API Consentimento', access: 'protected' },
  { file: 'resources-v3.1.0.yaml', service: 'connectors', nfrApi: '[DC] API Recursos', access: 'protected' },
  { file: 'accounts-v2.5.1.yaml', service: 'connectors', nfrApi: '[DC] API Contas', access: 'protected', resourceType: 'ACCOUNT' },
  { file: 'credit-cards-accounts-v2.4.0.yaml', service: 'connectors', nfrApi: '[DC] API Cartão de Crédito', access: 'protected', resourceType: 'CREDIT_CARD_ACCOUNT' },
  { file: 'customers-v2.3.0.yaml', service: 'connectors', nfrApi: '[DC] API Dados Cadastrais', access: 'protected' },
  { file: 'loans-v2.7.0.yaml', service: 'connectors', nfrApi: '[DC] API Operações de Crédito - Empréstimo', access: 'protected', resourceType: 'LOAN' },
  { file: 'channels-v2.1.0.yaml', service: 'connectors', nfrApi: '[DA] API Canais de Atendimento', access: 'open-data' },
  { file: 'opendata-accounts-v1.1.0.yaml', service: 'connectors', nfrApi: '[DA] API Produtos e Serviços', access: 'open-data' },
  { file: 'admin-v2.0.1.yaml', service: 'trace', nfrApi: 'API Admin', access: 'open-data' },
  { file: 'common-v2.0.1.yaml', service: 'trace', nfrApi: 'API Comum (Discovery)', access: 'open-data' },
  { file: 'payments-v4.0.1.yaml', service: 'connectors', nfrApi: '[SV] API Pagamentos', access: 'protected', payments: true },
  { file: 'payments-v5.0.0.yaml', service: 'connectors', nfrApi: '[SV] API Pagamentos', access: 'protected', payments: true },
] as const

/** Payments: `/consents` and `/consents/{consentId}` belong to consent, the rest (pix payments) to connectors. */
function paymentsService(specPath: string): 'consent' | 'connectors' {
  return specPath === '/consents' || specPath === '/consents/{consentId}' ? 'consent' : 'connectors'
}

/** The NFR row a payments path without its own row takes: `POST /pix/payments` (every payments row has one class). */
const nfrFallback = { method: 'POST', path: '/pix/payments' } as const

type Json = Record<string, unknown>

/** `### \`/path\`` sections of the spec description, each listing its permissions as `**PERMISSION**`. */
function permissionTable(description: string): Map<string, string[]> {
  const table = new Map<string, string[]>()
  const sections = description.split(/^\s*###\s+/m).slice(1)
  for (const section of sections) {
    const path = /^`([^`]+)`/.exec(section)?.[1]
    if (!path) continue
    const permissions = [...section.matchAll(/\*\*([A-Z_]+)\*\*/g)].map((m) => m[1]!)
    const unknown = permissions.filter((p) => !isPermission(p))
    if (unknown.length) throw new Error(`${path}: ${unknown.join(', ')} not in the permission catalogue of @ponte/contracts`)
    table.set(path, permissions)
  }
  return table
}

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const

/** The media types of an operation's response `code` (following a `$ref` into `components.responses`). */
function responseTypes(doc: Json, op: Json, code: string): string[] {
  let r = (op.responses as Record<string, Json | undefined>)[code]
  const ref = r?.$ref as string | undefined
  if (ref) r = ((doc.components as Json).responses as Record<string, Json>)[ref.split('/').pop()!]
  return Object.keys((r?.content ?? {}) as Json)
}

/** The media types of an operation's request body. */
function requestTypes(doc: Json, op: Json): string[] {
  let b = op.requestBody as Json | undefined
  const ref = b?.$ref as string | undefined
  if (ref) b = ((doc.components as Json).requestBodies as Record<string, Json>)[ref.split('/').pop()!]
  return Object.keys((b?.content ?? {}) as Json)
}

/** Whether an operation declares the `x-idempotency-key` header. */
function takesIdempotencyKey(op: Json): boolean {
  return ((op.parameters ?? []) as Array<{ $ref?: string; name?: string }>).some((p) => /idempotency-?key/i.test(p.$ref ?? p.name ?? ''))
}

export function generateRoutes(): unknown[] {
  const nfr = parseNfrCsv(readFileSync(`${specDir}nfr-endpoint-reference.csv`, 'utf8'))
  const routes: unknown[] = []
  for (const api of apis) {
    const doc = parse(readFileSync(specDir + api.file, 'utf8').replace(/^\uFEFF/, '')) as Json
    const info = doc.info as { version: string; description?: string }
    const servers = doc.servers as Array<{ url: string }>
    const base = new URL(servers[0]!.url).pathname.replace(/\/$/, '')
    const permissions = permissionTable(info.description ?? '')
    for (const [specPath, item] of Object.entries(doc.paths as Record<string, Json>)) {
      for (const m of methods) {
        const op = item[m] as Json | undefined
        if (!op) continue
        const method = m.toUpperCase()
        const payments = 'payments' in api
        const row = nfr.find((r) => r.api === api.nfrApi && r.method === method && r.path === specPath)
          ?? (payments ? nfr.find((r) => r.api === api.nfrApi && r.method === nfrFallback.method && r.path === nfrFallback.path) : undefined)
        if (!row) throw new Error(`${api.file}: ${method} ${specPath} has no row in nfr-endpoint-reference.csv`)
        const security = (op.security ?? doc.security ?? []) as Array<Record<string, string[]>>
        const scopeSets = security.map((s) => Object.values(s).flat())
        const first = scopeSets[0] ?? []
        const consentBound = first.some((s) => s.startsWith('consent:'))
        const scopes = first.filter((s) => s !== 'openid' && !s.includes(':'))
        const params = [...specPath.matchAll(/\{([^}]+)\}/g)].map((x) => x[1]!)
        const resourceParam = 'resourceType' in api && params.length > 0 ? params[0]! : undefined
        const pathConsentParam = consentBound && params.includes('consentId') ? 'consentId' : undefined
        // Payments: signed bodies where the spec says `application/jwt` (docs/regulation/payments.md#signed-request-and-response-bodies).
        const successCode = Object.keys(op.responses as Json).find((c) => /^2\d\d$/.test(c))
        const signedRequest = payments && requestTypes(doc, op).includes('application/jwt')
        const signedResponse = payments && successCode !== undefined && responseTypes(doc, op, successCode).includes('application/jwt')
        const paginated = ((op.parameters ?? []) as Array<{ $ref?: string; name?: string }>).some((p) => /pagination-?key/i.test(p.$ref ?? p.name ?? ''))
        routes.push({
          key: `${method} ${base}${specPath}`,
          method,
          path: `${base}${specPath}`,
          specFile: api.file,
          specPath,
          version: info.version,
          service: payments ? paymentsService(specPath) : api.service,
          access: api.access,
          ...(api.access === 'protected' ? { tokenKind: consentBound ? 'consent' : 'client' } : {}),
          scopes,
          permissions: consentBound && !pathConsentParam && !payments ? permissions.get(specPath) ?? [] : [],
          ...(resourceParam && 'resourceType' in api ? { resourceParam, resourceType: api.resourceType } : {}),
          ...(pathConsentParam ? { pathConsentParam, checkConsentStatus: false } : {}),
          // The token's consent is a payment consent: its owner checks it, the gateway passes its id on.
          ...(payments && consentBound ? { paymentConsent: true } : {}),
          ...(payments ? { strictTokenKind: true } : {}),
          ...(signedRequest ? { signedRequest: true } : {}),
          ...(signedResponse ? { signedResponse: true } : {}),
          ...(payments && takesIdempotencyKey(op) ? { idempotencyKey: true } : {}),
          paginated,
          frequency: row.frequency,
          p95SlaMs: row.p95SlaMs,
          tpm: nfrTpmFloor(row),
          monthly: nfrMonthlyFloor(row),
        })
      }
    }
  }
  for (const r of routes as Array<{ tokenKind?: string; permissions: string[]; key: string; pathConsentParam?: string; paymentConsent?: boolean }>) {
    if (r.tokenKind === 'consent' && !r.pathConsentParam && !r.paymentConsent && r.permissions.length === 0) throw new Error(`${r.key}: no permission found in its spec`)
  }
  return routes
}

export function renderRoutes(): string {
  return `${JSON.stringify(generateRoutes(), null, 2)}\n`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = renderRoutes()
  if (process.argv.includes('--check')) {
    if (readFileSync(outputFile, 'utf8') !== text) {
      console.error('routes.generated.json is stale: run node services/gateway/scripts/generate-routes.ts')
      process.exit(1)
    }
  } else {
    writeFileSync(outputFile, text)
    process.stdout.write(`wrote ${outputFile}\n`)
  }
}
