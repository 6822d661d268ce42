import { createServiceTokenVerifier, loadServiceKeys, loadTls, openRuntime, orExit, runService } from '@ponte/platform'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const serviceKeys = orExit(() => loadServiceKeys(config.serviceKeys))
const https = orExit(() => loadTls(config.tls))
const runtime = await openRuntime({
  service: config.service,
  logLevel: config.logLevel,
  kafka: config.kafka,
  redis: config.redis,
})
const serviceAuth = createServiceTokenVerifier(config.service, serviceKeys.publicKeys)
const app = buildApp({ serviceAuth, server: { logger: runtime.logger, readiness: runtime.readiness, https } })
const address = await runService({ app, host: config.http.host, port: config.http.port, closers: runtime.closers, shutdownTimeoutMs: config.shutdownTimeoutMs })
runtime.logger.info({ address }, 'gateway listening')
