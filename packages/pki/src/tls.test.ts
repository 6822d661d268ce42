import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, createServer, type DetailedPeerCertificate, type Server, type TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevCa, issueClientCertificate, loadOrCreateDevPki, parseClientCertificate, verifyCertificateChain, x5tS256, type DevPki, type IssuedCertificate } from './index.ts'

const ORG_ID = '0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f'
const SOFTWARE_ID = '11111111-2222-4333-8444-555555555555'
const CNPJ = '98765432000110'

interface Seen {
  readonly socket: TLSSocket
  readonly intermediates: Buffer[]
}

let dir: string
let pki: DevPki
let server: Server
let port: number
const seen: Seen[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ponte-pki-tls-'))
  pki = await loadOrCreateDevPki(join(dir, 'pki'))
  server = createServer({
    cert: pki.server.chainPem,
    key: pki.server.privateKeyPem,
    ca: pki.rootCertificatePem,
    requestCert: true,
    rejectUnauthorized: false,
  })
  server.on('secureConnection', (socket) => {
    const intermediates: Buffer[] = []
    let c: DetailedPeerCertificate = socket.getPeerCertificate(true)
    while (c.issuerCertificate && c.issuerCertificate !== c) {
      c = c.issuerCertificate
      intermediates.push(c.raw)
    }
    seen.push({ socket, intermediates })
    socket.end('bye')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  server?.close()
  await rm(dir, { recursive: true, force: true })
})

async function handshake(client: IssuedCertificate): Promise<Seen> {
  const before = seen.length
  const socket = connect({ host: '127.0.0.1', port, ca: pki.rootCertificatePem, cert: client.chainPem, key: client.privateKeyPem })
  await once(socket, 'secureConnect') // the client also checks the server certificate (IP SAN 127.0.0.1, dev root)
  socket.resume()
  await once(socket, 'end')
  socket.destroy()
  expect(seen.length).toBe(before + 1)
  return seen[before]!
}

describe('mTLS with a BRCAC-shaped client certificate', () => {
  it("parses the server side's getPeerX509Certificate() to the issued ids and thumbprint", async () => {
    const client = await issueClientCertificate(pki.ca, { orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, commonName: 'tpp.example.com.br' })
    const { socket, intermediates } = await handshake(client)
    expect(socket.authorized).toBe(true)
    const peer = socket.getPeerX509Certificate()
    expect(peer).toBeDefined()
    const info = parseClientCertificate(peer!)
    expect(info).toMatchObject({ orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, form: 'current' })
    expect(info.thumbprintS256).toBe(x5tS256(client.certificatePem))
    expect(x5tS256(peer!)).toBe(x5tS256(client.certificatePem))
    expect(verifyCertificateChain(peer!, { trustAnchors: [pki.rootCertificatePem], intermediates })).toMatchObject({ ok: true })
  })

  it('flags a client certificate of another CA (handshake allowed, chain rejected)', async () => {
    const foreignCa = await createDevCa()
    const client = await issueClientCertificate(foreignCa, { orgId: ORG_ID, softwareStatementId: SOFTWARE_ID, cnpj: CNPJ, commonName: 'evil.example', form: 'legacy' })
    const { socket, intermediates } = await handshake(client)
    expect(socket.authorized).toBe(false)
    const peer = socket.getPeerX509Certificate()!
    expect(parseClientCertificate(peer)).toMatchObject({ orgId: ORG_ID, form: 'legacy' })
    expect(verifyCertificateChain(peer, { trustAnchors: [pki.rootCertificatePem], intermediates })).toMatchObject({ ok: false, reason: 'UNTRUSTED_CA' })
  })
})
