import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { CatalogueEntry } from '@ponte/contracts'

/** The committed catalogue of limitable endpoints (regenerate with `node services/traffic/scripts/generate-catalogue.ts`). */
export function loadCatalogue(file: URL = new URL('../domain/nfr-catalogue.json', import.meta.url)): CatalogueEntry[] {
  return z.array(CatalogueEntry).min(1).parse(JSON.parse(readFileSync(file, 'utf8')))
}
