import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StaffAuditRecorded, topics } from '@ponte/contracts'
import { repoRoot } from '@ponte/testkit'
import { GENESIS_HASH, entryHash, verifyChain } from '../src/domain/audit-chain.ts'
import { csvField } from '../src/routes/audit.routes.ts'
import { startAdmin } from './helpers.ts'

const run = promisify(execFile)
let admin: Awaited<ReturnType<typeof startAdmin>>
beforeAll(async () => { admin = await startAdmin() })
afterAll(async () => { await admin.close() })

/** `pnpm ponte admin <args>` against the test schema. */
function cli(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, ['scripts/ponte.ts', 'admin', ...args], {
    cwd: repoRoot, env: { ...process.env, DATABASE_URL: admin.schema.databaseUrl, DB_SCHEMA: admin.schema.name, ...env },
  }).then((r) => ({ code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }))
}

describe('the audit chain', () => {
  it('chains each entry to the one before, also under concurrent appends', async () => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => admin.audit.append({ action: 'test.concurrent', outcome: 'success', target: `t${i}`, before: { n: i, nested: { b: 1, a: [1, { z: 2, y: 3 }] } } })))
    const { rows } = await admin.pool.query<{ seq: string; prev_hash: string; hash: string }>('select seq, prev_hash, hash from audit_log order by seq')
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: rows.length }, (_, i) => i + 1))
    expect(rows[0]!.prev_hash).toBe(GENESIS_HASH)
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.hash)
    expect(await admin.audit.verify(7)).toMatchObject({ ok: true, entries: rows.length })
  })

  it('refuses UPDATE, DELETE and TRUNCATE in the database', async () => {
    await expect(admin.pool.query("update audit_log set action = 'x' where seq = 1")).rejects.toThrow(/append-only \(UPDATE refused\)/)
    await expect(admin.pool.query('delete from audit_log where seq = 1')).rejects.toThrow(/append-only \(DELETE refused\)/)
    await expect(admin.pool.query('truncate audit_log')).rejects.toThrow(/append-only \(TRUNCATE refused\)/)
  })

  it('publishes each entry on ponte.audit.v1 through the outbox, in the transaction of the entry', async () => {
    const entry = await admin.audit.append({ action: 'test.outbox', outcome: 'success', actorEmail: 'a@bank.test', address: '10.9.9.9', requestId: 'req-1', target: 'x', before: { s: 1 }, after: { s: 2 } })
    const { rows } = await admin.pool.query<{ topic: string; payload: unknown }>('select topic, payload from outbox where event_id = $1', [entry.entryId])
    expect(rows[0]!.topic).toBe(topics.audit)
    const event = StaffAuditRecorded.parse(rows[0]!.payload)
    expect(event.data).toMatchObject({ seq: entry.seq, action: 'test.outbox', address: '10.9.9.9', requestId: 'req-1', before: { s: 1 }, after: { s: 2 }, hash: entry.hash })
  })

  it('detects an edited entry, a removed entry and a re-hashed edit, from the domain and the CLI', async () => {
    expect((await cli(['verify-audit'])).stdout).toMatch(/audit chain intact: \d+ entries/)
    const entries = (await admin.audit.search({ limit: 1000 })).reverse()
    expect(verifyChain(entries).ok).toBe(true)

    const edited = entries.map((e) => (e.seq === 3 ? { ...e, after: { forged: true } } : e))
    expect(verifyChain(edited)).toEqual({ ok: false, entries: 3, seq: 3, problem: 'hash mismatch' })
    expect(verifyChain(entries.filter((e) => e.seq !== 4))).toMatchObject({ ok: false, seq: 5, problem: 'sequence gap' })
    // An attacker who recomputes the edited entry's hash still breaks the link from the next entry.
    const rehashed = entries.map((e) => (e.seq === 3 ? { ...e, actorEmail: 'someone-else@bank.test', hash: entryHash(e.prevHash, { ...e, actorEmail: 'someone-else@bank.test' }) } : e))
    expect(verifyChain(rehashed)).toMatchObject({ ok: false, seq: 4, problem: 'previous hash mismatch' })

    // A superuser who bypasses the trigger to edit a row is caught by the CLI.
    const client = await admin.pool.connect()
    try {
      await client.query("set session_replication_role = 'replica'")
      await client.query("update audit_log set actor_email = 'someone-else@bank.test' where seq = 5")
      await client.query("set session_replication_role = 'origin'")
    } finally {
      client.release()
    }
    const broken = await cli(['verify-audit'])
    expect(broken.code).toBe(1)
    expect(broken.stderr).toContain('audit chain BROKEN at entry 5 (hash mismatch); 4 entries before it verified')
  })
})

describe('the audit trail API', () => {
  it('filters entries and exports them as CSV that spreadsheets cannot run', async () => {
    const auditor = await admin.login(await admin.user(['auditor']))
    await admin.audit.append({ action: 'test.csv', outcome: 'failure', target: '=HYPERLINK("http://evil")', detail: { note: 'a, "quoted"\nline' } })
    const list = await admin.app.inject({ method: 'GET', url: '/api/audit?action=test.csv', headers: auditor.headers })
    expect(list.json().entries).toHaveLength(1)
    expect(list.json().entries[0]).toMatchObject({ action: 'test.csv', outcome: 'failure' })
    const csv = await admin.app.inject({ method: 'GET', url: '/api/audit/export.csv?action=test.csv', headers: auditor.headers })
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="ponte-audit-\d{4}-\d{2}-\d{2}\.csv"$/)
    const [header, row] = csv.body.split('\r\n')
    expect(header).toBe('seq,at,actorEmail,address,action,outcome,target,before,after,detail,requestId,prevHash,hash')
    expect(row).toContain(`"'=HYPERLINK(""http://evil"")"`)
    expect(csvField('-1+1')).toBe("'-1+1")
    expect(csvField('plain')).toBe('plain')
    // The export itself is recorded.
    const exports = await admin.app.inject({ method: 'GET', url: '/api/audit?action=audit.export', headers: auditor.headers })
    expect(exports.json().entries[0]).toMatchObject({ action: 'audit.export', outcome: 'success', detail: { rows: 1 } })
  })

  it('records every login with who, when, from where and the request id', async () => {
    const u = await admin.user(['viewer'])
    await admin.login(u, '192.0.2.7')
    const [entry] = await admin.audit.search({ actor: u.email, action: 'login', limit: 1 })
    expect(entry).toMatchObject({ actorId: u.userId, actorEmail: u.email, address: '192.0.2.7', outcome: 'success' })
    expect(entry!.requestId).toMatch(/.+/)
    expect(Date.parse(entry!.at)).toBe(admin.clock.now().getTime() - 0)
  })
})

describe('pnpm ponte admin create-user', () => {
  it('creates the first administrator with every role and prints the TOTP secret once', async () => {
    const res = await cli(['create-user', '--email', 'First.Admin@Bank.test', '--name', 'First Admin'], { PONTE_ADMIN_PASSWORD: 'first-admin-pass-1' })
    expect(res.code).toBe(0)
    expect(res.stdout).toContain('created first.admin@bank.test (viewer, operator, consent_officer, security_admin, auditor)')
    const secret = /TOTP secret \(shown once; add it to an authenticator app\): ([A-Z2-7]{32})/.exec(res.stdout)![1]
    const user = await admin.staff.checkPassword('first.admin@bank.test', 'first-admin-pass-1')
    expect(user?.totpSecret).toBe(secret)
    expect((await cli(['create-user', '--email', 'x@bank.test', '--name', 'X', '--roles', 'root'], { PONTE_ADMIN_PASSWORD: 'first-admin-pass-1' })).stderr).toContain('unknown role(s): root')
    expect((await cli(['create-user', '--email', 'first.admin@bank.test', '--name', 'Again'], { PONTE_ADMIN_PASSWORD: 'first-admin-pass-1' })).stderr).toContain('a staff user with this e-mail exists')
  })
})
