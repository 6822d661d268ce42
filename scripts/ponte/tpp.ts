/**
 * `pnpm ponte tpp onboard --name NAME --roles DADOS,PAGTO --redirect-uri URI --out DIR`: onboards a development TPP in
 * the running sandbox directory (organisation + software statement) and writes its bundle: transport certificate
 * and key (mTLS), signing certificate and private JWK, encryption private JWK, the SSA and the CA bundle. Private
 * keys exist only in that folder (mode 0600): the sandbox hands them out once and never stores them.
 */
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createProgress } from '../progress.ts'

/** One line for `pnpm ponte help`. */
export const summary = 'a TPP\'s first hour: onboard (sandbox directory), register (DCR), consent, callback, call, pay'

/** The kit's commands (packages/tpp-kit): the same protocol any TPP speaks, on public endpoints only. */
const KIT = ['register', 'consent', 'payment-consent', 'callback', 'call', 'pay']

const OVERVIEW = `usage: pnpm ponte tpp <subcommand> [args]   (pnpm ponte tpp <subcommand> --help for details)

  onboard           onboard a development TPP in the sandbox directory; writes its bundle (certificates, keys, SSA)
  register          DCR at the bank with a fresh SSA; keeps the client id and registration access token in the bundle
  consent           create a data consent and push its authorisation request (PAR); prints the URL for the browser
  payment-consent   create a Pix payment consent (signed) and push its authorisation request
  callback          check the URL the browser landed on (state, nonce, id_token) and exchange the code
  call              one regulated call with everything a TPP sends, printing request and answer
  pay               pay the authorised payment consent (signed request, idempotency key)

Walkthrough: docs/tpp-first-hour.md`

const USAGE = `usage: pnpm ponte tpp onboard --name NAME --redirect-uri URI [--redirect-uri URI ...] --out DIR [options]

  --name NAME            organisation name (required)
  --roles LIST           regulatory roles, comma-separated (default DADOS)
  --redirect-uri URI     OAuth redirect URI, https (required, repeatable or comma-separated)
  --webhook-uri URI      webhook base URI, https (repeatable or comma-separated)
  --client-name NAME     software statement client name (default: --name)
  --cnpj CNPJ            organisation CNPJ (default: a generated valid one)
  --organisation ID      add a software statement to this existing sandbox organisation instead of creating one
  --out DIR              folder to write the bundle to (created; must be empty unless --force)
  --directory URL        sandbox directory (default $DIRECTORY_SANDBOX_URL or https://127.0.0.1:8446)
  --ca FILE              CA to trust for the directory (default <dev PKI>/root-ca.crt.pem)
  --token TOKEN          sandbox admin token (default $DIRECTORY_SANDBOX_ADMIN_TOKEN)
  --force                write into a non-empty folder
  --count N              bulk onboarding (load tests): N organisations ("NAME 001", …), one bundle each in
                         DIR/001, DIR/002, …; progress on stderr (a bar on a terminal, a line every 5 s otherwise)`

interface Onboarded {
  softwareStatementId: string
  clientId: string
  ssa: string
  transport: { certificatePem: string; chainPem: string; privateKeyPem: string; caBundlePem: string }
  signing: { privateJwk: Record<string, unknown>; certificatePem: string }
  encryption: { privateJwk: Record<string, unknown> }
  webhookServer?: { hostnames: string[]; certificatePem: string; chainPem: string; privateKeyPem: string; caBundlePem: string }
  jwksUri: string
  transportJwksUri: string
}

const list = (values: string[] | undefined): string[] => (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean)

function call<T>(base: string, ca: string, token: string | undefined, method: string, path: string, body: unknown): Promise<{ status: number; body: T }> {
  const url = new URL(path, base)
  const payload = JSON.stringify(body)
  return new Promise((resolvePromise, reject) => {
    const req = request(url, {
      method,
      ca,
      timeout: 30_000,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        try {
          resolvePromise({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T })
        } catch {
          reject(new Error(`${method} ${url.pathname} answered ${res.statusCode} with a non-JSON body`))
        }
      })
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href} timed out`)))
    req.on('error', (err) => reject(new Error(`cannot reach the sandbox directory at ${base}: ${err.message}`)))
    req.end(payload)
  })
}

function expectStatus(what: string, res: { status: number; body: unknown }, status: number): void {
  if (res.status === status) return
  const detail = (res.body as { errors?: { code: string; detail: string }[] } | undefined)?.errors?.map((e) => `${e.code}: ${e.detail}`).join('; ')
  throw new Error(`${what} failed with ${res.status}${detail ? ` (${detail})` : ''}`)
}

/** What {@link onboardOne} needs: one organisation (or an existing one) and one software statement, written to `out`. */
interface OnboardOne {
  name: string
  clientName: string
  roles: string[]
  cnpj?: string
  organisation?: string
  redirectUris: string[]
  webhookUris: string[]
  out: string
  directory: string
  ca: string
  token: string | undefined
}

/** Creates the organisation (unless given) and a software statement in the sandbox, and writes the bundle. */
async function onboardOne(o: OnboardOne): Promise<{ organisationId: string; softwareStatementId: string; ss: Onboarded }> {
  const { directory, ca, token, out, name } = o
  let organisationId = o.organisation
  if (!organisationId) {
    const org = await call<{ organisationId: string }>(directory, ca, token, 'POST', '/sandbox/organisations', {
      name,
      roles: o.roles,
      ...(o.cnpj ? { cnpj: o.cnpj } : {}),
    })
    expectStatus('creating the organisation', org, 201)
    organisationId = org.body.organisationId
  }
  const res = await call<Onboarded>(directory, ca, token, 'POST', `/sandbox/organisations/${encodeURIComponent(organisationId)}/softwarestatements`, {
    clientName: o.clientName,
    redirectUris: o.redirectUris,
    webhookUris: o.webhookUris,
  })
  expectStatus('creating the software statement', res, 201)
  const ss = res.body

  const files: [string, string, number][] = [
    ['software-statement.json', JSON.stringify({ organisationId, softwareStatementId: ss.softwareStatementId, clientId: ss.clientId, jwksUri: ss.jwksUri, transportJwksUri: ss.transportJwksUri, directory }, null, 2) + '\n', 0o644],
    ['ssa.jwt', `${ss.ssa}\n`, 0o644],
    ['transport.crt.pem', ss.transport.certificatePem, 0o644],
    ['transport.chain.pem', ss.transport.chainPem, 0o644],
    ['transport.key.pem', ss.transport.privateKeyPem, 0o600],
    ['ca-bundle.pem', ss.transport.caBundlePem, 0o644],
    ['signing.crt.pem', ss.signing.certificatePem, 0o644],
    ['signing.private.jwk.json', JSON.stringify(ss.signing.privateJwk, null, 2) + '\n', 0o600],
    ['encryption.private.jwk.json', JSON.stringify(ss.encryption.privateJwk, null, 2) + '\n', 0o600],
  ]
  if (ss.webhookServer) {
    // The webhook receiver's TLS server certificate (SAN = the webhook URIs' hosts), trusted by the bank's deliveries.
    files.push(
      ['webhook-server.crt.pem', ss.webhookServer.certificatePem, 0o644],
      ['webhook-server.chain.pem', ss.webhookServer.chainPem, 0o644],
      ['webhook-server.key.pem', ss.webhookServer.privateKeyPem, 0o600],
    )
  }
  for (const [file, text, mode] of files) {
    await writeFile(join(out, file), text, { mode })
    await chmod(join(out, file), mode)
  }

  return { organisationId, softwareStatementId: ss.softwareStatementId, ss }
}

async function onboard(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      roles: { type: 'string', default: 'DADOS' },
      'redirect-uri': { type: 'string', multiple: true },
      'webhook-uri': { type: 'string', multiple: true },
      'client-name': { type: 'string' },
      cnpj: { type: 'string' },
      organisation: { type: 'string' },
      out: { type: 'string' },
      directory: { type: 'string' },
      ca: { type: 'string' },
      token: { type: 'string' },
      force: { type: 'boolean', default: false },
      count: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const redirectUris = list(values['redirect-uri'])
  const missing = [!values.name && '--name', redirectUris.length === 0 && '--redirect-uri', !values.out && '--out'].filter(Boolean)
  if (missing.length) throw new Error(`missing ${missing.join(', ')}\n\n${USAGE}`)
  const name = values.name!
  const out = resolve(values.out!)
  const directory = (values.directory ?? process.env.DIRECTORY_SANDBOX_URL ?? 'https://127.0.0.1:8446').replace(/\/+$/, '')
  const pkiDir = process.env.PONTE_DEV_PKI_DIR ?? fileURLToPath(new URL('../../.pki', import.meta.url))
  const caFile = values.ca ?? join(pkiDir, 'root-ca.crt.pem')
  const ca = await readFile(caFile, 'utf8').catch(() => {
    throw new Error(`cannot read the CA file ${caFile} (run make up first, or pass --ca)`)
  })
  const token = values.token ?? process.env.DIRECTORY_SANDBOX_ADMIN_TOKEN

  await mkdir(out, { recursive: true, mode: 0o700 })
  if (!values.force && (await readdir(out)).length > 0) throw new Error(`${out} is not empty (use --force to write into it)`)

  const count = Number(values.count)
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new Error('--count must be a whole number from 1 to 10000')
  if (count > 1 && values.cnpj) throw new Error('--cnpj names one organisation: leave it out with --count')
  const roles = list([values.roles ?? 'DADOS']).map((r) => r.toUpperCase())
  const common = { roles, redirectUris, webhookUris: list(values['webhook-uri']), directory, ca, token, ...(values.organisation ? { organisation: values.organisation } : {}) }
  if (count > 1) {
    // Bulk onboarding: the same calls N times, each bundle in its own folder.
    const width = String(count).length < 3 ? 3 : String(count).length
    const progress = createProgress({ label: 'onboard', unit: 'TPPs' })
    progress.phase(`onboarding ${count} TPPs in ${directory}`, count)
    const rows: string[] = []
    try {
      for (let i = 1; i <= count; i++) {
        const n = String(i).padStart(width, '0')
        const dir = join(out, n)
        await mkdir(dir, { recursive: true, mode: 0o700 })
        const one = await onboardOne({ ...common, name: `${name} ${n}`, clientName: `${values['client-name'] ?? name} ${n}`, out: dir })
        rows.push(`${n}  ${one.organisationId}  ${one.softwareStatementId}`)
        progress.increment()
      }
    } finally {
      progress.stop()
    }
    console.log(`${count} TPPs onboarded in the sandbox directory ${directory}, bundles in ${out}/<n>:\n  n${' '.repeat(width + 1)}organisation                          software statement\n${rows.map((r) => `  ${r}`).join('\n')}`)
    return
  }
  const one = await onboardOne({ ...common, name, clientName: values['client-name'] ?? name, out, ...(values.cnpj ? { cnpj: values.cnpj } : {}) })
  const { organisationId, ss } = one
  const assertion = `${directory}/organisations/${organisationId}/softwarestatements/${ss.softwareStatementId}/assertion`
  console.log(`TPP onboarded in the sandbox directory ${directory}
  organisation        ${organisationId}
  software statement  ${ss.softwareStatementId}
  application JWKS    ${ss.jwksUri}
  transport JWKS      ${ss.transportJwksUri}
  bundle              ${out}

Next: register the client at the bank (DCR with a fresh SSA), then follow docs/tpp-first-hour.md:
  pnpm ponte tpp register --bundle ${values.out}

What register does, for a client of your own:
  1. The SSA in ssa.jwt is valid for 5 minutes. Get a fresh one with the transport certificate:
       curl --cert ${join(out, 'transport.chain.pem')} --key ${join(out, 'transport.key.pem')} --cacert ${join(out, 'ca-bundle.pem')} \\
         ${assertion}
  2. Register the client at the bank's authorisation server (DCR, mTLS with the same certificate):
       POST https://localhost:8444/register  {"software_statement": "<SSA>", "jwks_uri": "${ss.jwksUri}", ...}
  3. Sign private_key_jwt assertions and request objects with signing.private.jwk.json (PS256);
     decrypt id_tokens with encryption.private.jwk.json (RSA-OAEP). Keep the *.key.pem / *.private.jwk.json files secret.`)
  if (ss.webhookServer) {
    console.log(`  4. Serve the webhook receiver (${ss.webhookServer.hostnames.join(', ')}) over TLS with webhook-server.chain.pem and
     webhook-server.key.pem, requiring client certificates from ca-bundle.pem (the bank's transport certificate); answer 202.`)
  }
}

/** `pnpm ponte tpp <subcommand>`. */
export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv
  if (sub === 'onboard') return onboard(rest)
  if (sub !== undefined && KIT.includes(sub)) return (await import('@ponte/tpp-kit')).runTpp(sub, rest)
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(OVERVIEW)
    return
  }
  throw new Error(`unknown subcommand "${sub}"\n\n${OVERVIEW}`)
}
