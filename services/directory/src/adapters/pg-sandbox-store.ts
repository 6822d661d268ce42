import { withTransaction, type Pool } from '@ponte/platform'
import type { JWK } from 'jose'
import type { SandboxKey, SandboxOrganisation, SandboxSoftwareStatement, SandboxStore, StoredSigner } from '../domain/sandbox-store.ts'

interface OrgRow { organisation_id: string; name: string; cnpj: string; status: SandboxOrganisation['status']; created_at: Date; roles: { role: string; status: 'Active' | 'Inactive'; claim_id: string; registration_id: string }[] | null }
interface SsRow { software_statement_id: string; organisation_id: string; client_id: string; client_name: string; redirect_uris: string[]; webhook_uris: string[]; status: 'Active' | 'Inactive' }
interface KeyRow { kid: string; software_statement_id: string; organisation_id: string; kind: SandboxKey['kind']; public_jwk: JWK; certificate_pem: string | null; thumbprint_s256: string | null; active: boolean }

const ORG_SELECT = `select o.*, (select json_agg(json_build_object('role', r.role, 'status', r.status, 'claim_id', r.claim_id, 'registration_id', r.registration_id) order by r.role)
  from organisation_roles r where r.organisation_id = o.organisation_id) as roles from organisations o`

const toOrg = (r: OrgRow): SandboxOrganisation => ({
  organisationId: r.organisation_id,
  name: r.name,
  cnpj: r.cnpj,
  status: r.status,
  createdAt: r.created_at,
  roles: (r.roles ?? []).map((x) => ({ role: x.role, status: x.status, claimId: x.claim_id, registrationId: x.registration_id })),
})
const toSs = (r: SsRow): SandboxSoftwareStatement => ({
  softwareStatementId: r.software_statement_id,
  organisationId: r.organisation_id,
  clientId: r.client_id,
  clientName: r.client_name,
  redirectUris: r.redirect_uris,
  webhookUris: r.webhook_uris,
  status: r.status,
})
const toKey = (r: KeyRow): SandboxKey => ({
  kid: r.kid,
  softwareStatementId: r.software_statement_id,
  organisationId: r.organisation_id,
  kind: r.kind,
  publicJwk: r.public_jwk,
  certificatePem: r.certificate_pem ?? undefined,
  thumbprintS256: r.thumbprint_s256 ?? undefined,
  active: r.active,
})

/** The sandbox directory's PostgreSQL storage (its own schema, e.g. `directory_sandbox`). */
export function createPgSandboxStore(pool: Pool): SandboxStore {
  return {
    async activeSigner(): Promise<StoredSigner | undefined> {
      const { rows } = await pool.query<{ kid: string; alg: string; private_key_sealed: string; public_jwk: JWK }>(
        "select kid, alg, private_key_sealed, public_jwk from signer_keys where purpose = 'ssa' and retired_at is null order by created_at, kid limit 1",
      )
      const r = rows[0]
      return r ? { kid: r.kid, alg: r.alg, privateKeySealed: r.private_key_sealed, publicJwk: r.public_jwk } : undefined
    },
    /** Inserts a signer unless another replica created one first (then the caller re-reads the active one). */
    async insertSignerIfNone(signer: StoredSigner): Promise<void> {
      await withTransaction(pool, async (client) => {
        await client.query("select pg_advisory_xact_lock(hashtext(current_schema() || '.ssa-signer'))")
        const { rowCount } = await client.query("select 1 from signer_keys where purpose = 'ssa' and retired_at is null")
        if (rowCount) return
        await client.query("insert into signer_keys (kid, purpose, alg, private_key_sealed, public_jwk) values ($1, 'ssa', $2, $3, $4)", [
          signer.kid, signer.alg, signer.privateKeySealed, JSON.stringify(signer.publicJwk),
        ])
      })
    },
    async signerPublicKeys(): Promise<JWK[]> {
      const { rows } = await pool.query<{ public_jwk: JWK }>("select public_jwk from signer_keys where purpose = 'ssa' and retired_at is null order by created_at, kid")
      return rows.map((r) => r.public_jwk)
    },

    async createOrganisation(org: Omit<SandboxOrganisation, 'createdAt' | 'status'>): Promise<void> {
      await withTransaction(pool, async (client) => {
        await client.query('insert into organisations (organisation_id, name, cnpj) values ($1, $2, $3)', [org.organisationId, org.name, org.cnpj])
        for (const r of org.roles) {
          await client.query('insert into organisation_roles (organisation_id, role, status, claim_id, registration_id) values ($1, $2, $3, $4, $5)', [
            org.organisationId, r.role, r.status, r.claimId, r.registrationId,
          ])
        }
      })
    },
    async getOrganisation(organisationId: string): Promise<SandboxOrganisation | undefined> {
      const { rows } = await pool.query<OrgRow>(`${ORG_SELECT} where o.organisation_id = $1`, [organisationId])
      return rows[0] ? toOrg(rows[0]) : undefined
    },
    async listOrganisations(): Promise<SandboxOrganisation[]> {
      const { rows } = await pool.query<OrgRow>(`${ORG_SELECT} order by o.created_at, o.organisation_id`)
      return rows.map(toOrg)
    },
    /** Changes an organisation's status and/or role statuses; false when it does not exist. */
    async updateOrganisation(organisationId: string, patch: { status?: SandboxOrganisation['status'] | undefined; roles?: { role: string; status: 'Active' | 'Inactive' }[] | undefined }): Promise<boolean> {
      return withTransaction(pool, async (client) => {
        const { rowCount } = await client.query(
          'update organisations set status = coalesce($2, status), updated_at = now() where organisation_id = $1',
          [organisationId, patch.status ?? null],
        )
        if (!rowCount) return false
        for (const r of patch.roles ?? []) {
          await client.query('update organisation_roles set status = $3 where organisation_id = $1 and role = $2', [organisationId, r.role, r.status])
        }
        return true
      })
    },

    async createSoftwareStatement(ss: Omit<SandboxSoftwareStatement, 'status'>, keys: Omit<SandboxKey, 'active'>[]): Promise<void> {
      await withTransaction(pool, async (client) => {
        await client.query(
          'insert into software_statements (software_statement_id, organisation_id, client_id, client_name, redirect_uris, webhook_uris) values ($1, $2, $3, $4, $5, $6)',
          [ss.softwareStatementId, ss.organisationId, ss.clientId, ss.clientName, JSON.stringify(ss.redirectUris), JSON.stringify(ss.webhookUris)],
        )
        for (const k of keys) {
          await client.query(
            'insert into software_keys (kid, software_statement_id, organisation_id, kind, public_jwk, certificate_pem, thumbprint_s256) values ($1, $2, $3, $4, $5, $6, $7)',
            [k.kid, k.softwareStatementId, k.organisationId, k.kind, JSON.stringify(k.publicJwk), k.certificatePem ?? null, k.thumbprintS256 ?? null],
          )
        }
      })
    },
    async getSoftwareStatement(organisationId: string, softwareStatementId: string): Promise<SandboxSoftwareStatement | undefined> {
      const { rows } = await pool.query<SsRow>('select * from software_statements where organisation_id = $1 and software_statement_id = $2', [organisationId, softwareStatementId])
      return rows[0] ? toSs(rows[0]) : undefined
    },
    async keys(filter: { organisationId: string; softwareStatementId?: string | undefined; kinds: SandboxKey['kind'][]; active: boolean }): Promise<SandboxKey[]> {
      const { rows } = await pool.query<KeyRow>(
        `select * from software_keys where organisation_id = $1 and ($2::uuid is null or software_statement_id = $2::uuid)
           and kind = any($3::text[]) and active = $4 order by created_at, kid`,
        [filter.organisationId, filter.softwareStatementId ?? null, filter.kinds, filter.active],
      )
      return rows.map(toKey)
    },
    async activeTransportKeyByThumbprint(organisationId: string, thumbprint: string): Promise<SandboxKey | undefined> {
      const { rows } = await pool.query<KeyRow>(
        "select * from software_keys where organisation_id = $1 and kind = 'transport' and active and thumbprint_s256 = $2",
        [organisationId, thumbprint],
      )
      return rows[0] ? toKey(rows[0]) : undefined
    },
    /** Moves every key of a software statement to the inactive keystores; false when it does not exist. */
    async revokeSoftwareStatement(organisationId: string, softwareStatementId: string): Promise<boolean> {
      return withTransaction(pool, async (client) => {
        const { rowCount } = await client.query(
          "update software_statements set status = 'Inactive', revoked_at = coalesce(revoked_at, now()) where organisation_id = $1 and software_statement_id = $2",
          [organisationId, softwareStatementId],
        )
        if (!rowCount) return false
        await client.query('update software_keys set active = false, revoked_at = coalesce(revoked_at, now()) where software_statement_id = $1', [softwareStatementId])
        return true
      })
    },
  }
}
