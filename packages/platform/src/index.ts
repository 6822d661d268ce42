export { ConfigError, parseEnv, deepFreeze, envBoolean, envList, envPort, commonEnvShape, databaseEnvShape, sharedEnvShape, metricsEnvShape, redisEnvShape, tlsEnvShape, listenerEnvShape, schemaEnvShape, baseServiceConfig, dbConfig } from './config.ts'
export { DomainError, httpStatus, ofbError, ofbDateTime, domainErrorBody, errorTitle } from './errors.ts'
export type { ErrorCode, DomainErrorOptions, OfbErrorItem, OfbErrorBody } from './errors.ts'
export { createLogger, maskSensitive, redactedKeys } from './logger.ts'
export type { Logger, CreateLoggerOptions } from './logger.ts'
export { beginDrain, createServer, dependencyDown, isInteractionId } from './server.ts'
export type { ServerOptions, ReadinessCheck, PonteServer } from './server.ts'
export { refusalOf } from './refusals.ts'
export type { Refusal, RefusalBodyWriter } from './refusals.ts'
export { runService } from './lifecycle.ts'
export type { Closer, RunServiceOptions } from './lifecycle.ts'
export { fapiTlsOptions, FAPI_TLS12_CIPHERS } from './tls.ts'
export type { FapiTlsInput } from './tls.ts'
export { createPool, pingDatabase, migrate, withTransaction, assertSchemaName, assertSearchPath, isDatabaseUnavailable, ensureDatabase } from './db.ts'
export type { Pool, PoolClient, PoolOptions, MigrateOptions } from './db.ts'
export { createKafka, ensureTopics, pingKafka, createPublisher, subscribe } from './kafka.ts'
export type { Kafka, KafkaOptions, TopicSpec, EventPublisher, EnvelopedEvent, EventMeta, SubscribeOptions, Subscription } from './kafka.ts'
export { enqueueEvent, createOutboxRelay, idempotentHandler } from './outbox.ts'
export type { OutboxRelay, OutboxRelayOptions } from './outbox.ts'
export {
  SERVICE_TOKEN_MAX_AGE_S,
  SERVICE_TOKEN_HEADER,
  generateServiceKeyPair,
  parsePublicKeys,
  createServiceTokenIssuer,
  createServiceTokenVerifier,
  requireServiceToken,
  registerInternalInfo,
} from './service-auth.ts'
export type { ServiceTokenClaims, ServiceKeyPair, ServiceTokenIssuer, ServiceTokenVerifier } from './service-auth.ts'
export { createRedis, pingRedis, redisTarget } from './redis.ts'
export type { RedisOptions, Redis } from './redis.ts'
export { loadServiceKeys, loadTls, serviceKeyEnv } from './keys.ts'
export type { ServiceKeys } from './keys.ts'
export { openRuntime, orExit, bootService } from './runtime.ts'
export type { Runtime, RuntimeOptions, BootConfig, BootedService, DbOptions } from './runtime.ts'
export { createInternalClient } from './internal-client.ts'
export type { InternalClient, InternalClientOptions, InternalCallOptions, InternalResponse } from './internal-client.ts'
export { metricsRegistry, registerMetricSource, startMetricsListener, PreboundHistogram, HistogramSeries, httpRequestDuration, LATENCY_BUCKETS } from './metrics.ts'
export type { MetricSample, MetricSource, MetricsListener, MetricsListenerOptions } from './metrics.ts'
export { instrumentHttp } from './http-metrics.ts'
export { tracingEnabled, activeTraceId, captureTraceContext, instrumentTracing } from './tracing.ts'
