import { randomInt } from 'node:crypto'

const WEIGHTS_1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
const WEIGHTS_2 = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]

function checkDigit(base: string, weights: readonly number[]): number {
  // Alphanumeric CNPJ (2026): each character counts as its char code minus 48, digits unchanged.
  const sum = [...base].reduce((acc, ch, i) => acc + (ch.charCodeAt(0) - 48) * weights[i]!, 0)
  const rest = sum % 11
  return rest < 2 ? 0 : 11 - rest
}

/** A random numeric CNPJ with valid check digits (branch 0001), for sandbox participants. */
export function randomCnpj(): string {
  const root = Array.from({ length: 8 }, () => String(randomInt(10))).join('') + '0001'
  const d1 = checkDigit(root, WEIGHTS_1)
  const d2 = checkDigit(root + String(d1), WEIGHTS_2)
  return `${root}${d1}${d2}`
}
