import type { Pool } from '@ponte/platform'
import { acceptedStep } from '../domain/totp.ts'

/** The reference core's customer TOTP check (table `customer_totp`, migration 004). */
export interface CustomerTotp {
  /** Whether `code` is the customer's current code, not used before; false for an unknown CPF or one without TOTP. */
  verify(cpf: string, code: string, now: Date): Promise<boolean>
}

/**
 * Verifies against the stored secret and records the accepted step in the same statement that checks it was not used
 * (`last_used_step < step`), so two replicas given the same code at once accept it once.
 */
export function createPgCustomerTotp(pool: Pool): CustomerTotp {
  return {
    async verify(cpf, code, now) {
      const row = await pool.query<{ customer_id: string; secret: string; last_used_step: string | null }>(
        `select t.customer_id, t.secret, t.last_used_step from customer_totp t join customer c on c.id = t.customer_id where c.cpf = $1`, [cpf])
      const found = row.rows[0]
      if (!found) return false
      const step = acceptedStep(found.secret, code, now, found.last_used_step === null ? undefined : Number(found.last_used_step))
      if (step === undefined) return false
      const claimed = await pool.query(
        `update customer_totp set last_used_step = $2, updated_at = now() where customer_id = $1 and (last_used_step is null or last_used_step < $2)`,
        [found.customer_id, step])
      return claimed.rowCount === 1
    },
  }
}
