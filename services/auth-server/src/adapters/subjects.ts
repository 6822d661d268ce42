import { randomUUID } from 'node:crypto'
import type { Pool } from '@ponte/platform'

/** A customer as the authorization server knows them: a stable public `sub` for a CPF. */
export interface Subject {
  sub: string
  cpf: string
  cnpjs: string[]
}

/** Maps customers to their public subject identifier (`subject_type=public`, FAPI-BR §5.1 item 20). */
export interface SubjectStore {
  /** The subject of a CPF, created on first login; the business CNPJs are refreshed on every login. */
  upsert(cpf: string, cnpjs: string[]): Promise<Subject>
  find(sub: string): Promise<Subject | undefined>
}

/** The PostgreSQL subject store (table `subjects`). */
export function createSubjectStore(pool: Pool): SubjectStore {
  return {
    async upsert(cpf, cnpjs) {
      const { rows } = await pool.query<{ sub: string; cpf: string; cnpjs: string[] }>(
        `insert into subjects (sub, cpf, cnpjs) values ($1, $2, $3)
           on conflict (cpf) do update set cnpjs = excluded.cnpjs returning sub, cpf, cnpjs`,
        [randomUUID(), cpf, JSON.stringify(cnpjs)])
      return rows[0]!
    },
    async find(sub) {
      const { rows } = await pool.query<{ sub: string; cpf: string; cnpjs: string[] }>('select sub, cpf, cnpjs from subjects where sub = $1', [sub])
      return rows[0]
    },
  }
}
