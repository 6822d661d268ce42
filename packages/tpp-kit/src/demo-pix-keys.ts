/**
 * The Pix keys of the sandbox bank's demo DICT, as the README's "Demo bank" table lists them. A TPP resolves a key
 * through its own DICT access; in the sandbox these are the keys that exist, so `payment-consent --pix-key` fills the
 * creditor from here unless `--creditor-*` say otherwise (`packages/tpp-kit/test/demo-pix-keys.test.ts` keeps this
 * list equal to the README's).
 */
export interface PixCreditor {
  personType: 'PESSOA_NATURAL' | 'PESSOA_JURIDICA'
  cpfCnpj: string
  name: string
  account: { ispb: string; issuer: string; number: string; accountType: string }
}

export const DEMO_PIX_KEYS: Readonly<Record<string, PixCreditor>> = {
  'pix@lojaexemplo.com.br': {
    personType: 'PESSOA_JURIDICA', cpfCnpj: '11444777000161', name: 'Loja Exemplo Ltda',
    account: { ispb: '99999004', issuer: '0001', number: '12345678', accountType: 'CACC' },
  },
  '+5561988887777': {
    personType: 'PESSOA_NATURAL', cpfCnpj: '52998224725', name: 'Mariana Costa Pereira',
    account: { ispb: '99999001', issuer: '0001', number: '00099887', accountType: 'CACC' },
  },
}
