/**
 * Development material shared by `make up` and `docker compose` (never used in production): the dev PKI, the
 * internal service-token key pair, the database and the Kafka topics. Idempotent: existing files are reused.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { topicSettings } from '@ponte/contracts'
import { createKafka, createLogger, ensureDatabase, ensureTopics, generateServiceKeyPair } from '@ponte/platform'
import { loadOrCreateDevPki } from '@ponte/pki'

/** Where to put things and what to connect to. */
export interface DevSetupOptions {
  pkiDir: string
  keysDir: string
  databaseUrl: string
  kafkaBrokers: string[]
}

/** Creates (once) and returns the environment every service reads in development. */
export async function prepareDevEnvironment(o: DevSetupOptions): Promise<Record<string, string>> {
  mkdirSync(o.keysDir, { recursive: true })
  const pki = await loadOrCreateDevPki(o.pkiDir)
  const keyFile = `${o.keysDir}/service-token.key.pem`
  const pubFile = `${o.keysDir}/service-token.pub.pem`
  if (!existsSync(keyFile) || !existsSync(pubFile)) {
    const pair = generateServiceKeyPair()
    writeFileSync(keyFile, pair.privateKeyPem, { mode: 0o600 })
    writeFileSync(pubFile, pair.publicKeyPem)
  }
  await ensureDatabase(o.databaseUrl)
  const kafka = createKafka({ brokers: o.kafkaBrokers, clientId: 'ponte-setup', logger: createLogger({ service: 'ponte-setup', level: 'error' }) })
  await ensureTopics(kafka, Object.entries(topicSettings).map(([topic, s]) => ({ topic, ...s })))
  return {
    DATABASE_URL: o.databaseUrl,
    KAFKA_BROKERS: o.kafkaBrokers.join(','),
    SERVICE_TOKEN_PRIVATE_KEY: `@${keyFile}`,
    SERVICE_TOKEN_PUBLIC_KEYS: `@${pubFile}`,
    TLS_CERT_FILE: pki.files.serverChain,
    TLS_KEY_FILE: pki.files.serverPrivateKey,
    TLS_CLIENT_CA_FILE: pki.files.caBundle,
    PONTE_DEV_PKI_DIR: o.pkiDir,
    ALLOW_DEV_DEFAULTS: 'true',
  }
}
