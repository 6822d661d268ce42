import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { bootService, createOutboxRelay, createPool, fapiTlsOptions, loadTls, migrate, orExit, pingDatabase, runService } from '@ponte/platform'
import { DEV_PAYLOAD_SIGNING_PASSPHRASE, loadOrCreateDevPayloadSigningKey, loadOrCreateDevPki, readPublishedSigningKeys, TrustStore, type DevPki } from '@ponte/pki'
import type { JWK } from 'jose'
import { createDirectoryHttp, createUndiciFetch } from './adapters/http.ts'
import { createKeystore } from './adapters/keystore.ts'
import { createParticipantCertificates } from './domain/participant-certificates.ts'
import { createPgDirectoryStore } from './adapters/pg-directory-store.ts'
import { createPgSandboxStore } from './adapters/pg-sandbox-store.ts'
import { createSecretBox } from './adapters/secret-box.ts'
import { loadOrCreateSsaSigner } from './adapters/ssa-signer.ts'
import { buildApp, buildSandboxApp } from './app.ts'
import { loadConfig } from './config.ts'
import { createHostAllowList } from './domain/allow-list.ts'
import { createCertificateChecker } from './domain/certificate-checker.ts'
import { createJwsVerifier } from './domain/jws-verifier.ts'
import { createOrganisationKeys } from './domain/organisation-keys.ts'
import { createSandboxDirectory, type SandboxChange } from './domain/sandbox.ts'
import { createSsaVerifier } from './domain/ssa-verifier.ts'
import { createParticipantsSync } from './domain/sync.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const { runtime, serviceAuth } = await bootService(config, new URL('../migrations', import.meta.url))
const log = runtime.logger
for (const w of config.warnings) log.warn(`WARNING: ${w}`)
const pool = runtime.pool!
const repoPki = fileURLToPath(new URL('../../../.pki', import.meta.url))

/**
 * The bank's published payload-signing keys (docs/decisions/gateway-signed-messages.md): the certificates of
 * PAYLOAD_SIGNING_CERT_FILES (files, or folders of `*.pem` such as rotate-keys' `published/`), read at each request so a
 * rotation needs no restart; with ALLOW_DEV_DEFAULTS and none
 * configured, the dev key the gateway signs with (created in the dev PKI folder by whichever starts first).
 */
async function bankSigningKeys(pki: DevPki): Promise<() => Promise<JWK[]>> {
  let files = config.payloadSigningCertFiles
  if (files.length === 0) {
    if (!config.allowDevDefaults) return async () => []
    const { file } = await loadOrCreateDevPayloadSigningKey(pki.dir, pki.ca, { orgId: config.bank.organisationId, cnpj: config.bank.cnpj, commonName: config.bank.name, passphrase: DEV_PAYLOAD_SIGNING_PASSPHRASE })
    log.warn({ file }, 'WARNING: ALLOW_DEV_DEFAULTS: the sandbox publishes the DEV payload-signing key of the bank; set PAYLOAD_SIGNING_CERT_FILES')
    files = [file]
  }
  return async () => (await readPublishedSigningKeys(files)) as unknown as JWK[]
}

// --- sandbox directory (development only), started first so the connector's first sync can reach it ---
let sandboxAddress: string | undefined
// Set below once the connector exists, when the connector's directory is this sandbox (docs/decisions/directory-sandbox-propagation.md).
let applySandboxChange: ((change: SandboxChange) => Promise<void>) | undefined
let devPki: Awaited<ReturnType<typeof loadOrCreateDevPki>> | undefined
if (config.sandbox.enabled) {
  log.warn('WARNING: DIRECTORY_SANDBOX_ENABLED=true: this process emulates the central directory and onboards TPPs with the dev CA; never enable it in production')
  devPki = await loadOrCreateDevPki(config.devPkiDir ?? repoPki)
  await migrate({ url: config.db.directUrl, schema: config.sandbox.schema, dir: fileURLToPath(new URL('../migrations-sandbox', import.meta.url)), log })
  const sandboxPool = createPool({ url: config.db.directUrl, schema: config.sandbox.schema, max: 5, applicationName: 'directory-sandbox' }, log)
  runtime.closers.push(() => sandboxPool.end())
  const store = createPgSandboxStore(sandboxPool)
  const signer = await loadOrCreateSsaSigner({ store, box: createSecretBox(config.sandbox.masterKey!), ca: devPki.ca, bankCnpj: config.bank.cnpj })
  const tls = config.sandbox.tls.certFile
    ? orExit(() => loadTls(config.sandbox.tls))
    : fapiTlsOptions({ cert: devPki.server.chainPem, key: devPki.server.privateKeyPem, clientCa: devPki.caBundlePem })
  if (!config.sandbox.tls.certFile) log.warn({ pkiDir: devPki.dir }, 'WARNING: the sandbox directory listens with the dev PKI server certificate; set TLS_CERT_FILE/TLS_KEY_FILE to change it')
  const sandboxApp = buildSandboxApp({
    server: { logger: log.child({ component: 'sandbox' }), readiness: [{ name: 'postgres', check: () => pingDatabase(sandboxPool) }], https: tls },
    sandbox: createSandboxDirectory({
      store, ca: devPki.ca, signer, publicUrl: config.sandbox.publicUrl, ssaIssuer: config.sandbox.ssaIssuer, bank: config.bank,
      bankSigningKeys: await bankSigningKeys(devPki),
      onChange: (change) => applySandboxChange?.(change) ?? Promise.resolve(),
    }),
    ca: devPki.ca,
    adminToken: config.sandbox.adminToken,
  })
  runtime.closers.unshift(() => sandboxApp.close())
  sandboxAddress = await sandboxApp.listen({ host: config.sandbox.host, port: config.sandbox.port })
  log.info({ address: sandboxAddress, publicUrl: config.sandbox.publicUrl }, 'sandbox directory listening')
}

// --- directory connector ---
const connector = config.connector
let trustAnchorPems: string[]
if (connector.trustAnchorFiles.length > 0) {
  trustAnchorPems = connector.trustAnchorFiles.map((f) => readFileSync(f, 'utf8'))
} else {
  devPki ??= await loadOrCreateDevPki(config.devPkiDir ?? repoPki)
  trustAnchorPems = [devPki.rootCertificatePem]
  log.warn({ file: devPki.files.rootCertificate }, 'WARNING: DIRECTORY_TRUST_ANCHORS is unset: client certificates are checked against the DEV CA; set the ICP-Brasil chains in production')
}
const trustStore = TrustStore.fromPem(...trustAnchorPems)
// The sandbox serves with the dev PKI's certificate: trust its CA for outbound calls when the sandbox runs here.
const extraCa = connector.caFile ? readFileSync(connector.caFile, 'utf8') : config.sandbox.enabled && devPki ? devPki.rootCertificatePem : undefined
const outbound = createUndiciFetch({ extraCaPem: extraCa })
runtime.closers.push(() => outbound.close())
const isAllowed = createHostAllowList(connector.allowedHosts)
const http = createDirectoryHttp({ fetch: outbound.fetch, isAllowed, timeoutMs: connector.fetchTimeoutMs })
const keystore = createKeystore({ http, ttlMs: connector.keystoreTtlS * 1000, minRefreshIntervalMs: connector.keystoreRefreshMinIntervalS * 1000, logger: log })
const store = createPgDirectoryStore(pool)
const sync = createParticipantsSync({
  http,
  keystore,
  store,
  participantsUrl: connector.participantsUrl,
  defaultIntervalS: connector.syncIntervalS,
  minForcedIntervalMs: 60_000,
  logger: log,
})
// Ponte's own sandbox is the directory: apply each of its changes before it is answered (no one-minute floor).
if (config.sandbox.enabled && connector.participantsUrl === `${config.sandbox.publicUrl}/participants`) {
  applySandboxChange = async (change) => {
    try {
      await sync.syncAfterChange()
    } catch (err) {
      log.warn({ change, err: (err as Error).message }, 'could not apply a sandbox directory change at once; the periodic sync will')
    }
  }
}
const app = buildApp({
  serviceAuth,
  server: { logger: log, readiness: runtime.readiness },
  verifySsa: createSsaVerifier({
    keystore,
    store,
    organisation: sync.organisation,
    nextForcedSyncAt: sync.nextForcedSyncAt,
    isAllowed,
    ssaJwksUrl: connector.ssaJwksUrl,
    issuer: connector.ssaIssuer,
    maxAgeS: connector.ssaMaxAgeS,
    skewS: connector.ssaClockSkewS,
  }),
  checkCertificate: createCertificateChecker({ trustStore }),
  verifyJws: createJwsVerifier({ keystore, keystoreUrl: connector.keystoreUrl }),
  organisation: sync.organisation,
  organisationJwks: createOrganisationKeys({ keystore, keystoreUrl: connector.keystoreUrl }),
  participantCertificates: createParticipantCertificates({ store, keystore }),
})

const relay = createOutboxRelay({ pool, listenPool: runtime.sessionPool, publisher: runtime.publisher!, logger: log })
runtime.closers.unshift(() => relay.stop())
if (connector.syncEnabled) {
  const tick = () => sync.syncIfDue().catch((err: Error) => log.warn({ err: err.message }, 'participants sync failed; retrying later'))
  void tick()
  const timer = setInterval(() => void tick(), 30_000)
  timer.unref()
  runtime.closers.unshift(() => clearInterval(timer))
}
log.info({ participantsUrl: connector.participantsUrl, keystoreUrl: connector.keystoreUrl, allowedHosts: connector.allowedHosts }, 'directory connector configured')
const address = await runService({ app, host: config.http.host, port: config.http.port, closers: runtime.closers, shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics })
log.info({ address }, 'directory listening')
