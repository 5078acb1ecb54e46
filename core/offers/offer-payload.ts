// The outbox payload of an issued offer, built in SQL where the offer is issued and queued (the
// campaign planner, a staff member's "Send best offer"): one definition of what the renderer and
// `enrichOutboundMessage` read (offer-context.ts), so the two producers cannot drift apart.
import { Prisma } from "../db/client";

/**
 * `jsonb_build_object(...)` of the offer issue `issue` (columns id, code, expires_at) and its
 * catalogue row `offer`, both table aliases of the surrounding query. The caller adds its own
 * fields with `|| jsonb_build_object(...)`.
 */
export function issuedOfferPayloadSql(issue: string, offer: string): Prisma.Sql {
  const i = Prisma.raw(issue);
  const o = Prisma.raw(offer);
  return Prisma.sql`jsonb_build_object('offerIssueId', ${i}.id, 'offerKey', ${o}.key, 'code', ${i}.code, 'title', ${o}.title,
    'description', ${o}.description, 'translations', ${o}.translations, 'kind', ${o}.kind,
    'value', ${o}.value::float8, 'expiresAt', to_char(${i}.expires_at, 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))`;
}
