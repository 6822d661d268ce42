import { z } from 'zod'

/** RFC 3339 UTC timestamp with milliseconds (event times; the API payloads use second precision). */
export const EventTime = z.iso.datetime({ offset: false, precision: 3 })

/**
 * The envelope every event shares: a unique `id` (consumers deduplicate on it), the producing service, the time it
 * happened, the payload version, and the `x-fapi-interaction-id` that caused it when there was one.
 */
export const eventEnvelope = {
  id: z.uuid(),
  source: z.string().min(1),
  occurredAt: EventTime,
  version: z.literal(1),
  interactionId: z.uuid().optional(),
}

