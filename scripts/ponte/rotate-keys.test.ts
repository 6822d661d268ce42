import { constants, createPublicKey, verify } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_PAYLOAD_SIGNING_PASSPHRASE, issueDevPayloadSigningKey, loadOrCreateDevPki, readPayloadSigningKey, readPublishedSigningKeys } from '@ponte/pki'
import { testLogger, waitFor } from '@ponte/testkit'
import { createBankSigner, watchPayloadSigningKey } from '../../services/gateway/src/adapters/bank-signer.ts'
import { run } from './rotate-keys.ts'

// `pnpm ponte rotate-keys --payload-signing <dir>`: the bank's payload-signing key rotated with overlap, as the
// gateway (current.pem, followed by watchPayloadSigningKey) and the directory (published/, readPublishedSigningKeys)
// read the folder (docs/decisions/gateway-signed-messages.md#rotation).
describe('rotate-keys --payload-signing', () => {
  const root = mkdtempSync(join(tmpdir(), 'ponte-rotate-'))
  const dir = join(root, 'keys')
  const saved = { ...process.env }
  const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
  const files = { certFile: join(dir, 'current.pem'), keyFile: join(dir, 'current.pem'), passphrase: DEV_PAYLOAD_SIGNING_PASSPHRASE }
  const published = async () => readPublishedSigningKeys([join(dir, 'published')])
  /** Verifies a JWS the way a TPP does: the key named by its `kid` among the bank's published keys. */
  const verifies = async (jws: string) => {
    const [h, p, s] = jws.split('.') as [string, string, string]
    const { kid } = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { kid: string }
    const jwk = (await published()).find((k) => k.kid === kid)
    if (!jwk) return false
    return verify('sha256', Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' }), ...PSS }, Buffer.from(s, 'base64url'))
  }
  const cli = async (...argv: string[]) => {
    const out: string[] = []
    const log = console.log
    console.log = (...a: unknown[]) => { out.push(a.join(' ')) }
    try {
      await run(['--payload-signing', dir, ...argv])
    } finally {
      console.log = log
    }
    return out
  }

  beforeAll(() => {
    process.env.ALLOW_DEV_DEFAULTS = 'true'
    process.env.PONTE_DEV_PKI_DIR = join(root, 'pki')
    delete process.env.PAYLOAD_SIGNING_KEY_PASSPHRASE
  })
  afterAll(() => {
    process.env = saved
    rmSync(root, { recursive: true, force: true })
  })

  it('installs a first key, rotates with the previous one still published, and stops publishing it after the grace period', async () => {
    await cli()
    const first = await readPayloadSigningKey(files)
    expect((await published()).map((k) => k.kid)).toEqual([first.kid])
    // No private key is ever published.
    for (const f of readdirSync(join(dir, 'published'))) expect(readFileSync(join(dir, 'published', f), 'utf8')).not.toContain('PRIVATE KEY')

    // The gateway signs with the first key and follows the files.
    const signer = createBankSigner({ organisationId: 'bank-org', kid: first.kid, privateKey: first.privateKey })
    const stop = watchPayloadSigningKey(signer, files, 50, testLogger('gateway').logger)
    try {
      const before = signer.sign({ data: { n: 1 } }, Date.now())
      expect(await verifies(before)).toBe(true)

      const out = await cli('--grace', '0')
      const second = await readPayloadSigningKey(files)
      expect(second.kid).not.toBe(first.kid)
      expect(out.join('\n')).toContain(`signing with: ${second.kid}`)
      // Both published: the answer signed with the old key still verifies.
      expect((await published()).map((k) => k.kid).sort()).toEqual([first.kid, second.kid].sort())
      expect(await verifies(before)).toBe(true)
      expect((await cli('--list')).join('\n')).toMatch(new RegExp(`${first.kid}  retiring`))

      // The running signer switches to the new key without a restart; its answers verify.
      await waitFor(() => signer.kid === second.kid || undefined, { timeoutMs: 10_000, what: 'the signer to use the new key' })
      const after = signer.sign({ data: { n: 2 } }, Date.now())
      expect(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString('utf8')).kid).toBe(second.kid)
      expect(await verifies(after)).toBe(true)

      // Grace over: the old key is no longer published, so its answers no longer verify; the current one still does.
      await cli('--prune')
      expect((await published()).map((k) => k.kid)).toEqual([second.kid])
      expect(await verifies(before)).toBe(false)
      expect(await verifies(after)).toBe(true)
    } finally {
      stop()
    }
  })

  it('keeps the previous key published for the grace period', async () => {
    const current = (await readPayloadSigningKey(files)).kid
    await cli('--grace', '3600')
    await cli('--prune')
    expect((await published()).map((k) => k.kid)).toContain(current)
    const listed = (await cli('--list')).join('\n')
    expect(listed).toMatch(new RegExp(`${current}  retiring  published until `))
  })

  it('refuses a key that does not open with the passphrase, and changes nothing', async () => {
    const pki = await loadOrCreateDevPki(join(root, 'pki'))
    const pem = await issueDevPayloadSigningKey(pki.ca, { orgId: 'bank-org', cnpj: '12345678000195', commonName: 'Banco', passphrase: 'another passphrase' })
    writeFileSync(join(root, 'new.pem'), pem)
    const kid = (await readPayloadSigningKey(files)).kid
    const before = (await published()).map((k) => k.kid).sort()
    await expect(cli('--cert', join(root, 'new.pem'), '--key', join(root, 'new.pem'))).rejects.toThrow()
    expect((await readPayloadSigningKey(files)).kid).toBe(kid)
    expect((await published()).map((k) => k.kid).sort()).toEqual(before)
  })

  it('without ALLOW_DEV_DEFAULTS the new key must be given', async () => {
    process.env.ALLOW_DEV_DEFAULTS = 'false'
    process.env.PAYLOAD_SIGNING_KEY_PASSPHRASE = DEV_PAYLOAD_SIGNING_PASSPHRASE
    try {
      await expect(cli()).rejects.toThrow(/--cert/)
    } finally {
      process.env.ALLOW_DEV_DEFAULTS = 'true'
      delete process.env.PAYLOAD_SIGNING_KEY_PASSPHRASE
    }
  })
})
