import type { Pool } from '@ponte/platform'
import { errors } from 'oidc-provider'
import type { Adapter, AdapterPayload } from 'oidc-provider'

/**
 * oidc-provider's documented adapter interface on PostgreSQL: every model in one table `oidc_model` keyed by
 * (model, id). Expiry is enforced in SQL (an expired row is never returned), and `consume` is atomic: only the first
 * replica that consumes an authorization code, PAR request or device code wins, every later attempt fails and (for
 * codes) revokes what the code produced, as RFC 6749 §4.1.2 asks for a reused code.
 */
export interface PgAdapterFactory {
  (name: string): Adapter
  /** Deletes rows that expired more than `graceSeconds` ago; returns how many. */
  pruneExpired(graceSeconds?: number): Promise<number>
}

const CONSUME_ERRORS: Record<string, () => Error> = {
  AuthorizationCode: () => new errors.InvalidGrant('authorization code already consumed'),
  RefreshToken: () => new errors.InvalidGrant('refresh token already consumed'),
  DeviceCode: () => new errors.InvalidGrant('device code already consumed'),
  BackchannelAuthenticationRequest: () => new errors.InvalidGrant('request already consumed'),
  PushedAuthorizationRequest: () => new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used'),
}

/** Creates the adapter factory passed as oidc-provider's `adapter` option. */
export function createPgAdapter(pool: Pool): PgAdapterFactory {
  const factory = ((name: string): Adapter => {
    const model = name
    const withdrawnFilter = model === 'Client'
      ? `and (m.org_id is null or not exists (select 1 from withdrawn_organisations w where w.org_id = m.org_id))
         and not exists (select 1 from revoked_software_statements r where r.software_id = m.payload->>'software_id')
         and not exists (select 1 from suspended_clients s where s.client_id = m.id)`
      : ''

    async function findWhere(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
      // PostgreSQL text holds no NUL: such an id (`client_id=a%00b` at the authorization endpoint) matches nothing,
      // instead of failing the query and answering 500.
      if (value.includes('\u0000')) return undefined
      const { rows } = await pool.query<{ payload: AdapterPayload; consumed_at: Date | null }>(
        `select m.payload, m.consumed_at from oidc_model m
          where m.model = $1 and m.${column} = $2 and (m.expires_at is null or m.expires_at > now()) ${withdrawnFilter}
          limit 1`,
        [model, value],
      )
      const row = rows[0]
      if (!row) return undefined
      return row.consumed_at ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) } : row.payload
    }

    return {
      async upsert(id, payload, expiresIn) {
        const orgId = model === 'Client' && typeof payload.org_id === 'string' ? payload.org_id : null
        await pool.query(
          `insert into oidc_model (model, id, payload, grant_id, uid, user_code, org_id, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7, case when $8::int is null then null else now() + make_interval(secs => $8::int) end)
           on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
             user_code = excluded.user_code, org_id = excluded.org_id, expires_at = excluded.expires_at`,
          [model, id, JSON.stringify(payload), payload.grantId ?? null, payload.uid ?? null, payload.userCode ?? null, orgId,
            typeof expiresIn === 'number' && expiresIn > 0 ? Math.ceil(expiresIn) : null],
        )
      },
      find: (id) => findWhere('id', id),
      findByUid: (uid) => findWhere('uid', uid),
      findByUserCode: (userCode) => findWhere('user_code', userCode),
      async consume(id) {
        const { rowCount } = await pool.query(
          'update oidc_model set consumed_at = now() where model = $1 and id = $2 and consumed_at is null', [model, id])
        if (rowCount === 1) return
        // Lost a race with another replica (or a replay): the artefact was already used.
        const { rows } = await pool.query<{ grant_id: string | null }>('select grant_id from oidc_model where model = $1 and id = $2', [model, id])
        const grantId = rows[0]?.grant_id
        if (grantId && model === 'AuthorizationCode') await revokeGrant(pool, grantId)
        const error = CONSUME_ERRORS[model]
        if (error) throw error()
      },
      async destroy(id) {
        await pool.query('delete from oidc_model where model = $1 and id = $2', [model, id])
      },
      async revokeByGrantId(grantId) {
        await revokeGrant(pool, grantId)
      },
    }
  }) as PgAdapterFactory
  factory.pruneExpired = async (graceSeconds = 3600) => {
    const { rowCount } = await pool.query(
      'delete from oidc_model where expires_at is not null and expires_at < now() - make_interval(secs => $1::int)', [graceSeconds])
    return rowCount ?? 0
  }
  return factory
}

/** Deletes a grant and everything issued under it (refresh tokens, codes, stored access tokens). */
export async function revokeGrant(pool: Pool, grantId: string): Promise<void> {
  await pool.query("delete from oidc_model where grant_id = $1 or (model = 'Grant' and id = $1)", [grantId])
}
