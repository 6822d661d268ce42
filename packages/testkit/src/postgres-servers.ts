// Private PostgreSQL-side servers for tests that must not touch the shared ones: a PgBouncer in transaction mode in
// front of the shared PostgreSQL (own port, own roles), and a PostgreSQL of its own (initdb in a temp dir, own port)
// that a test may restart. Both are Debian's binaries; as root they run as the `postgres` user (neither runs as root).
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { canConnect, testInfra, waitFor } from './infra.ts'
import { freePort } from './helpers.ts'

const asRoot = process.getuid?.() === 0

/** A temp folder the `postgres` user owns when we are root (PostgreSQL and PgBouncer refuse to run as root). */
function privateDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  if (asRoot) {
    const { uid, gid } = postgresUser()
    chownSync(dir, uid, gid)
  }
  chmodSync(dir, 0o700)
  return dir
}

let pgUser: { uid: number; gid: number } | undefined
function postgresUser(): { uid: number; gid: number } {
  if (pgUser) return pgUser
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))
  if (!line) throw new Error('running as root needs a `postgres` user to run PostgreSQL and PgBouncer as')
  const [, , uid, gid] = line.split(':')
  return (pgUser = { uid: Number(uid), gid: Number(gid) })
}

/** Spawns `bin args` as the postgres user when we are root (setpriv execs, so the pid is the server's own). */
function spawnServer(bin: string, args: string[], output: string[]): ChildProcess {
  const [cmd, argv] = asRoot
    ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', bin, ...args]] as const
    : [bin, args] as const
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  const keep = (b: Buffer) => { output.push(...b.toString().split('\n').filter(Boolean)); if (output.length > 400) output.splice(0, output.length - 400) }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return child
}

async function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); resolve() }, timeoutMs)
    child.once('exit', () => { clearTimeout(t); resolve() })
  })
}

/** PostgreSQL's server binaries of the newest installed major (Debian: /usr/lib/postgresql/<major>/bin). */
function postgresBin(name: string): string {
  const root = '/usr/lib/postgresql'
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a)) : []
  for (const m of majors) if (existsSync(join(root, m, 'bin', name))) return join(root, m, 'bin', name)
  throw new Error(`${name} not found under ${root} (apt-get install postgresql)`)
}

/** A running PgBouncer. */
export interface PgBouncer {
  port: number
  /** The URL of `role` through the pooler, to the shared test database. */
  url(role: string): string
  /** What PgBouncer logged (for failure reports). */
  output: string[]
  /** Stops PgBouncer and drops the roles it was started with. */
  stop(): Promise<void>
}

/**
 * Starts PgBouncer in transaction mode on a free port in front of the shared PostgreSQL, with one login role per
 * entry of `roles` (role name → schema). Each role carries its schema as `search_path` (`ALTER ROLE … SET`), the way
 * docs/operations/postgres.md sets up a service's role, and inherits the privileges of the test database's owner.
 */
export async function startPgBouncer(options: { roles: Record<string, string>; poolSize?: number }): Promise<PgBouncer> {
  const upstream = new URL(testInfra().databaseUrl)
  const owner = decodeURIComponent(upstream.username || 'postgres')
  const roles = Object.entries(options.roles)
  const admin = new pg.Client({ connectionString: upstream.toString() })
  await admin.connect()
  try {
    for (const [role, schema] of roles) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(role) || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`bad role or schema name: ${role} ${schema}`)
      await admin.query(`create role "${role}" login`)
      await admin.query(`grant "${owner}" to "${role}"`)
      await admin.query(`alter role "${role}" set search_path = "${schema}", public`)
      await admin.query(`alter role "${role}" set statement_timeout = '10s'`)
    }
  } finally {
    await admin.end()
  }
  const dropRoles = async () => {
    const c = new pg.Client({ connectionString: upstream.toString() })
    await c.connect()
    try {
      for (const [role] of roles) {
        await c.query(`reassign owned by "${role}" to "${owner}"`).catch(() => undefined)
        await c.query(`drop owned by "${role}"`).catch(() => undefined)
        await c.query(`drop role if exists "${role}"`)
      }
    } finally {
      await c.end()
    }
  }

  const dir = privateDir('ponte-pgbouncer-')
  const port = await freePort()
  writeFileSync(join(dir, 'userlist.txt'), roles.map(([role]) => `"${role}" ""\n`).join(''))
  writeFileSync(join(dir, 'pgbouncer.ini'), [
    '[databases]',
    `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1', `listen_port = ${port}`, 'unix_socket_dir =',
    'auth_type = trust', `auth_file = ${join(dir, 'userlist.txt')}`,
    'pool_mode = transaction',
    `default_pool_size = ${options.poolSize ?? 4}`, 'max_client_conn = 1000',
    // Transaction pooling hands a server connection to whichever client comes next: no reset between clients.
    'server_reset_query =',
    '',
  ].join('\n'))
  if (asRoot) {
    const { uid, gid } = postgresUser()
    for (const f of ['userlist.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid)
  }
  const output: string[] = []
  const child = spawnServer('pgbouncer', [join(dir, 'pgbouncer.ini')], output)
  const stop = async () => {
    child.kill('SIGINT')
    await exited(child, 5_000)
    rmSync(dir, { recursive: true, force: true })
    await dropRoles()
  }
  try {
    await waitFor(async () => child.exitCode === null && (await canConnect('127.0.0.1', port)) || undefined, { timeoutMs: 10_000, what: `pgbouncer on ${port}: ${output.join('\n')}` })
  } catch (err) {
    await stop()
    throw err
  }
  const database = upstream.pathname.slice(1)
  return { port, url: (role) => `postgres://${role}@127.0.0.1:${port}/${database}`, output, stop }
}

/** A PostgreSQL server of a test's own. */
export interface PrivatePostgres {
  port: number
  /** The URL of `database` (default `postgres`) as the `postgres` superuser. */
  url(database?: string): string
  /** What the server logged. */
  output: string[]
  /** Fast shutdown (SIGINT: sessions are ended, in-flight transactions rolled back) and a start on the same port. */
  restart(options?: { downMs?: number }): Promise<void>
  stop(): Promise<void>
}

/** Creates a cluster with initdb in a temp dir and starts it on a free port (trust authentication, loopback only). */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = privateDir('ponte-pg-')
  const data = join(dir, 'data')
  const output: string[] = []
  const init = spawnServer(postgresBin('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'], output)
  const code = await new Promise<number | null>((resolve) => init.once('exit', resolve))
  if (code !== 0) throw new Error(`initdb failed:\n${output.join('\n')}`)
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawnServer(postgresBin('postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
      '-c', 'fsync=off', '-c', 'max_connections=50', '-c', 'shared_buffers=16MB'], output)
    const c = child
    await waitFor(async () => {
      if (c.exitCode !== null) throw new Error(`postgres exited:\n${output.slice(-20).join('\n')}`)
      const probe = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 1_000 })
      try { await probe.connect(); return true } catch { return undefined } finally { await probe.end().catch(() => undefined) }
    }, { timeoutMs: 20_000, intervalMs: 100, what: `private postgres on ${port}` })
  }
  const halt = async () => {
    if (!child) return
    child.kill('SIGINT')
    await exited(child, 15_000)
    child = undefined
  }
  await start()
  return {
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    output,
    async restart(o = {}) {
      await halt()
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs))
      await start()
    },
    async stop() {
      await halt()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
