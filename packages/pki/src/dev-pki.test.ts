import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEV_PKI_FILES, loadOrCreateDevPki, verifyCertificateChain } from './index.ts'

let base: string

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'ponte-dev-pki-'))
})

afterAll(async () => {
  await rm(base, { recursive: true, force: true })
})

describe('loadOrCreateDevPki', () => {
  it('creates once and then reuses the same root', async () => {
    const dir = join(base, 'a')
    const first = await loadOrCreateDevPki(dir)
    const second = await loadOrCreateDevPki(dir)
    expect(first.created).toBe(true)
    expect(second.created).toBe(false)
    expect(second.rootCertificatePem).toBe(first.rootCertificatePem)
    expect(second.ca.root.certificate.raw.equals(first.ca.root.certificate.raw)).toBe(true)
    expect(second.server.certificatePem).toBe(first.server.certificatePem)
    expect((await readdir(dir)).sort()).toEqual(Object.values(DEV_PKI_FILES).sort())
    expect(await readdir(base)).toEqual(['a']) // no temp folder left behind
  })

  it('writes keys with mode 0600 and a server certificate for localhost, 127.0.0.1 and ::1', async () => {
    const pki = await loadOrCreateDevPki(join(base, 'a'))
    for (const f of [DEV_PKI_FILES.rootPrivateKey, DEV_PKI_FILES.intermediatePrivateKey, DEV_PKI_FILES.serverPrivateKey]) {
      expect((await stat(join(pki.dir, f))).mode & 0o777).toBe(0o600)
    }
    const server = pki.ca.intermediate.certificate
    expect(server.ca).toBe(true)
    const leaf = new (await import('node:crypto')).X509Certificate(pki.server.certificatePem)
    expect(leaf.checkHost('localhost')).toBe('localhost')
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(leaf.checkIP('::1')).toBe('::1')
    expect(verifyCertificateChain(pki.server.certificatePem, { trustAnchors: [pki.rootCertificatePem], intermediates: [pki.caBundlePem] }).ok).toBe(true)
  })

  it('is safe against concurrent creation, and fills an existing empty folder', async () => {
    const dir = join(base, 'b')
    await mkdir(dir)
    const all = await Promise.all([loadOrCreateDevPki(dir), loadOrCreateDevPki(dir), loadOrCreateDevPki(dir)])
    expect(all.filter((p) => p.created)).toHaveLength(1)
    expect(new Set(all.map((p) => p.rootCertificatePem)).size).toBe(1)
    expect((await readdir(base)).sort()).toEqual(['a', 'b'])
  })

  it('refuses an incomplete folder instead of silently replacing its CA', async () => {
    const dir = join(base, 'a')
    await rm(join(dir, DEV_PKI_FILES.serverChain))
    await expect(loadOrCreateDevPki(dir)).rejects.toThrow(/incomplete/)
  })
})
