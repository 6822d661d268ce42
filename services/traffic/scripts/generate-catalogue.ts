// Regenerates src/domain/nfr-catalogue.json from the official NFR reference table. Run from the repository root:
//   node services/traffic/scripts/generate-catalogue.ts
// The file is committed; test/catalogue.test.ts fails when it no longer matches the CSV.
import { readFileSync, writeFileSync } from 'node:fs'
import { parseNfrCsv } from '@ponte/contracts'
import { buildCatalogue } from '../src/domain/nfr-catalogue.ts'

const csv = new URL('../../../specs/ofb/nfr-endpoint-reference.csv', import.meta.url)
const out = new URL('../src/domain/nfr-catalogue.json', import.meta.url)
const catalogue = buildCatalogue(parseNfrCsv(readFileSync(csv, 'utf8')))
writeFileSync(out, `${JSON.stringify(catalogue, null, 2)}\n`)
process.stdout.write(`${catalogue.length} limitable endpoints written to ${out.pathname}\n`)
