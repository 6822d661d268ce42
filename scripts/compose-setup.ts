/** `docker compose` setup step: development keys and certificates into the shared volume, topics, database. */
import { prepareDevEnvironment } from './dev-setup.ts'

const dir = process.argv[2] ?? '/dev-secrets'
await prepareDevEnvironment({
  pkiDir: `${dir}/pki`,
  keysDir: dir,
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres:postgres@postgres:5432/ponte',
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? 'kafka:9092').split(','),
})
console.log(`development material ready in ${dir}`)
