import { bootService, orExit, runService } from '@ponte/platform'
import { buildApp } from './app.ts'
import { loadConfig } from './config.ts'

// The only file that reads the environment, opens connections and listens.
const config = orExit(() => loadConfig(process.env))
const { runtime, serviceAuth } = await bootService(config, new URL('../migrations', import.meta.url))
const app = buildApp({ serviceAuth, server: { logger: runtime.logger, readiness: runtime.readiness } })
const address = await runService({ app, host: config.http.host, port: config.http.port, closers: runtime.closers, shutdownTimeoutMs: config.shutdownTimeoutMs, metrics: config.metrics })
runtime.logger.info({ address }, 'admin listening')
