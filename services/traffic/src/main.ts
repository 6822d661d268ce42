import { fileURLToPath } from 'node:url'
import { createServiceTokenVerifier, loadServiceKeys, openRuntime, orExit, runService } from '@ponte/platform'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const serviceKeys = orExit(() => loadServiceKeys(config.serviceKeys))
const runtime = await openRuntime({
  service: config.service,
  logLevel: config.logLevel,
  db: { ...config.db, migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)) },
  kafka: config.kafka,
  redis: config.redis,
})
const serviceAuth = createServiceTokenVerifier(config.service, serviceKeys.publicKeys)
const app = buildApp({ serviceAuth, server: { logger: runtime.logger, readiness: runtime.readiness } })
const address = await runService({ app, host: config.http.host, port: config.http.port, closers: runtime.closers, shutdownTimeoutMs: config.shutdownTimeoutMs })
runtime.logger.info({ address }, 'traffic listening')
