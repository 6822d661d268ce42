// The kit's demo Pix keys are the README's "Demo bank" table, row for row: a key added to or changed in the demo bank's
// documentation without the kit (or the reverse) fails here.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '@ponte/testkit'
import { DEMO_PIX_KEYS } from '@ponte/tpp-kit'

describe('the demo Pix keys of the TPP kit', () => {
  it('are the README\'s, with the holder, name and account of each', () => {
    const readme = readFileSync(`${repoRoot}README.md`, 'utf8')
    // | `pix@lojaexemplo.com.br` (EMAIL) | CNPJ `11444777000161` | Loja Exemplo Ltda | `99999004` | `0001` | `12345678` | `CACC` |
    const rows = [...readme.matchAll(/^\| `([^`]+)` \([A-Z]+\) \| (?:CPF|CNPJ) `(\d+)` \| ([^|]+?) \| `(\d{8})`[^|]* \| `(\d+)` \| `(\d+)` \| `([A-Z]+)` \|$/gm)]
    expect(rows.length).toBeGreaterThan(0)
    const documented = Object.fromEntries(rows.map((m) => [m[1]!, {
      personType: m[2]!.length === 14 ? 'PESSOA_JURIDICA' : 'PESSOA_NATURAL', cpfCnpj: m[2]!, name: m[3]!,
      account: { ispb: m[4]!, issuer: m[5]!, number: m[6]!, accountType: m[7]! },
    }]))
    expect(DEMO_PIX_KEYS).toEqual(documented)
  })
})
