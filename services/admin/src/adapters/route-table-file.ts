import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { catalogOf, type CatalogVersion } from '../domain/api-catalog.ts'

const RouteTable = z.array(z.object({ method: z.string(), path: z.string(), version: z.string(), specFile: z.string(), service: z.string() }))

/** The gateway's generated route table (`services/gateway/src/routes.generated.json`), grouped by API version. */
export function loadCatalog(file: string): CatalogVersion[] {
  return catalogOf(RouteTable.parse(JSON.parse(readFileSync(file, 'utf8'))))
}
