/**
 * `pnpm ponte tpp <register|consent|payment-consent|callback|call|pay>`: the argument parsing and help of the kit's
 * commands (`scripts/ponte/tpp.ts` dispatches here; `onboard` stays there).
 */
import { parseArgs } from 'node:util'
import { call, callback, consent, pay, paymentConsent, readBodyFile, register, type Out, type TokenKind } from './commands.ts'
import { fillPath, readSample } from './samples.ts'

const DEMO_CPF = '76109277673'

export const USAGES: Record<string, string> = {
  register: `usage: pnpm ponte tpp register --bundle DIR [--bank ORG_ID]

  Fetches a fresh SSA from the directory over mTLS, finds the bank's authorisation server in the directory's
  participants list, registers the client (DCR, mTLS, a complete DCR-BR body) and stores the client id and the
  registration access token in DIR/tpp-state.json (mode 0600).

  --bundle DIR     the folder written by \`pnpm ponte tpp onboard\`
  --bank ORG_ID    the bank's organisation id or name, when the participants list has several`,
  consent: `usage: pnpm ponte tpp consent --bundle DIR --permissions P1,P2,... [--cpf CPF] [--cnpj CNPJ] [--expiration ISO]

  Creates a data consent (client_credentials, POST /open-banking/consents/v3/consents), pushes the authorisation
  request (PAR, signed request object, PKCE S256) and prints the URL to open in a browser.

  --permissions LIST   Consents API permissions, comma-separated (e.g. ACCOUNTS_READ,ACCOUNTS_BALANCES_READ,RESOURCES_READ)
  --cpf CPF            the customer (default ${DEMO_CPF}, a demo customer)
  --cnpj CNPJ          a business the customer acts for (businessEntity)
  --expiration ISO     expirationDateTime of the consent (default: none, the bank's maximum)
  --redirect-uri URI   one of the registered redirect URIs (default the first)`,
  'payment-consent': `usage: pnpm ponte tpp payment-consent --bundle DIR --amount 1.23 --pix-key KEY [options]

  Creates a Pix payment consent (Payments v4; client_credentials, signed request, the bank's signed answer verified),
  pushes the authorisation request (PAR) and prints the URL to open in a browser (the customer logs in with a TOTP code).

  --amount AMOUNT             e.g. 1.23
  --pix-key KEY               the creditor's Pix key (the sandbox's demo keys fill in the creditor)
  --cpf CPF                   the paying customer (default ${DEMO_CPF})
  --cnpj CNPJ                 a business the customer pays for
  --date YYYY-MM-DD           the payment date (default today in Brasília)
  --creditor-name NAME        the creditor, for a key that is not a demo key
  --creditor-document DIGITS  the creditor's CPF or CNPJ
  --creditor-account ISPB/BRANCH/NUMBER/TYPE  the key's account (e.g. 99999004/0001/12345678/CACC)
  --redirect-uri URI          one of the registered redirect URIs (default the first)`,
  callback: `usage: pnpm ponte tpp callback --bundle DIR '<the URL the browser landed on>'

  Checks the authorisation response against the pending authorisation (state, nonce, the id_token decrypted and
  verified), exchanges the code (PKCE, private_key_jwt, mTLS) and stores the tokens in the bundle.`,
  call: `usage: pnpm ponte tpp call --bundle DIR METHOD PATH [--body-file FILE] [--token client|consent|none] [--scope SCOPE]
       pnpm ponte tpp call --bundle DIR --sample FILE [--param NAME=VALUE ...]

  One regulated call through the bank's gateway with everything a TPP sends: mTLS, the bearer token the API needs
  (client_credentials or the consent's, refreshed when expired), x-fapi-interaction-id; for payments a signed body
  (PS256 JWS) and an x-idempotency-key. Prints the request and the answer (signed answers verified and decoded).

  PATH          e.g. /open-banking/accounts/v2/accounts (with a query string if wanted)
  --body-file   a JSON body (for payments: the claims to sign)
  --sample      a sample request of docs/tpp/samples/<api>/*.json: its method, path and body
  --param       fills a {NAME} of the sample's path, e.g. --param accountId=…`,
  pay: `usage: pnpm ponte tpp pay --bundle DIR [--wait] [--remittance TEXT] [--ispb ISPB]

  Pays the authorised payment consent: POST /pix/payments with a signed body, an end-to-end id and an idempotency
  key; verifies the bank's signed answer. --wait follows the payment until it settles (ACSC) or is rejected.`,
}

function need(values: Record<string, unknown>, names: string[], usage: string): void {
  const missing = names.filter((n) => values[n] === undefined || values[n] === '')
  if (missing.length) throw new Error(`missing ${missing.map((n) => `--${n}`).join(', ')}\n\n${usage}`)
}

function account(value: string | undefined): { ispb: string; issuer: string; number: string; accountType: string } | undefined {
  if (value === undefined) return undefined
  const [ispb, issuer, number, accountType] = value.split('/')
  if (!ispb || !issuer || !number || !accountType || !/^\d{8}$/.test(ispb)) throw new Error('--creditor-account must be ISPB/BRANCH/NUMBER/TYPE, e.g. 99999004/0001/12345678/CACC')
  return { ispb, issuer, number, accountType }
}

/** Runs `pnpm ponte tpp <sub> ...` for the kit's subcommands. */
export async function runTpp(sub: string, argv: string[], out: Out = (l) => { process.stdout.write(`${l}\n`) }): Promise<void> {
  const usage = USAGES[sub]
  if (!usage) throw new Error(`unknown subcommand "${sub}"`)
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: sub === 'callback' || sub === 'call',
    options: {
      bundle: { type: 'string' }, bank: { type: 'string' },
      permissions: { type: 'string' }, cpf: { type: 'string' }, cnpj: { type: 'string' }, expiration: { type: 'string' },
      'redirect-uri': { type: 'string' },
      amount: { type: 'string' }, 'pix-key': { type: 'string' }, date: { type: 'string' },
      'creditor-name': { type: 'string' }, 'creditor-document': { type: 'string' }, 'creditor-account': { type: 'string' },
      'body-file': { type: 'string' }, sample: { type: 'string' }, param: { type: 'string', multiple: true }, token: { type: 'string' }, scope: { type: 'string' },
      wait: { type: 'boolean', default: false }, remittance: { type: 'string' }, ispb: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    out(usage)
    return
  }
  need(values, ['bundle'], usage)
  const dir = values.bundle!
  switch (sub) {
    case 'register':
      await register(dir, { ...(values.bank ? { bank: values.bank } : {}) }, out)
      return
    case 'consent': {
      need(values, ['permissions'], usage)
      const permissions = values.permissions!.split(',').map((p) => p.trim().toUpperCase()).filter(Boolean)
      await consent(dir, {
        permissions, cpf: values.cpf ?? DEMO_CPF,
        ...(values.cnpj ? { cnpj: values.cnpj } : {}), ...(values.expiration ? { expirationDateTime: values.expiration } : {}),
        ...(values['redirect-uri'] ? { redirectUri: values['redirect-uri'] } : {}),
      }, out)
      return
    }
    case 'payment-consent': {
      need(values, ['amount', 'pix-key'], usage)
      const acc = account(values['creditor-account'])
      await paymentConsent(dir, {
        amount: values.amount!, pixKey: values['pix-key']!, cpf: values.cpf ?? DEMO_CPF,
        ...(values.cnpj ? { cnpj: values.cnpj } : {}), ...(values.date ? { date: values.date } : {}),
        ...(values['redirect-uri'] ? { redirectUri: values['redirect-uri'] } : {}),
        creditor: {
          ...(values['creditor-name'] ? { name: values['creditor-name'] } : {}),
          ...(values['creditor-document'] ? { cpfCnpj: values['creditor-document'] } : {}),
          ...(acc ? { account: acc } : {}),
        },
      }, out)
      return
    }
    case 'callback':
      if (positionals.length !== 1) throw new Error(`give the URL the browser landed on, quoted\n\n${usage}`)
      await callback(dir, positionals[0]!, out)
      return
    case 'call': {
      const token = values.token as TokenKind | undefined
      if (token !== undefined && !['client', 'consent', 'none'].includes(token)) throw new Error('--token must be client, consent or none')
      let method: string
      let path: string
      let body: unknown
      if (values.sample) {
        if (positionals.length) throw new Error(`--sample gives the method and the path; drop ${positionals.join(' ')}\n\n${usage}`)
        const sample = await readSample(values.sample)
        method = sample.method
        path = fillPath(sample.path, values.param ?? [])
        body = sample.body
      } else {
        if (positionals.length !== 2) throw new Error(`give METHOD and PATH (or --sample FILE)\n\n${usage}`)
        ;[method, path] = positionals as [string, string]
        path = fillPath(path, values.param ?? [])
        body = values['body-file'] ? await readBodyFile(values['body-file']) : undefined
      }
      const answer = await call(dir, method, path, { ...(body !== undefined ? { body } : {}), ...(token ? { token } : {}), ...(values.scope ? { scope: values.scope } : {}) }, out)
      if (answer.status >= 400) process.exitCode = 1
      return
    }
    case 'pay':
      await pay(dir, { wait: values.wait ?? false, ...(values.ispb ? { ispb: values.ispb } : {}), ...(values.remittance ? { remittanceInformation: values.remittance } : {}) }, out)
      return
    default:
      throw new Error(`unknown subcommand "${sub}"`)
  }
}
