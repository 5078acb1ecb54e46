import type { Database } from "../db/client";
import { err, ok, type Result } from "../result";

export type CsatError =
  { type: "not_found" } | { type: "not_resolved" } | { type: "already_rated" } | { type: "invalid_score" };

/**
 * Stores the customer's CSAT rating (1-5) for a resolved ticket of theirs: a `feedback` row
 * (kind csat), `tickets.csat_score`, and a `csat_received` staff event, in one statement. Rating twice is
 * `already_rated`; a ticket of someone else is `not_found`.
 */
export async function recordCsat(
  db: Database,
  input: { ticketId: number; customerId: number; score: number; now: Date },
): Promise<Result<{ feedbackId: number }, CsatError>> {
  if (!Number.isInteger(input.score) || input.score < 1 || input.score > 5) return err({ type: "invalid_score" });
  const ticket = await db.prisma.ticket.findUnique({
    where: { id: input.ticketId },
    select: { customerId: true, status: true, csatScore: true, reference: true },
  });
  if (!ticket || ticket.customerId !== input.customerId) return err({ type: "not_found" });
  if (ticket.status !== "resolved") return err({ type: "not_resolved" });
  // One statement: the rating, its feedback row and the staff event are stored together or not
  // at all, so a crash can neither lose the rating after claiming it nor store it twice.
  const rows = await db.prisma.$queryRaw<{ feedback_id: number }[]>`
    WITH claimed AS (
      UPDATE tickets SET csat_score = ${input.score}
       WHERE id = ${input.ticketId} AND csat_score IS NULL
      RETURNING id
    ), stored AS (
      INSERT INTO feedback (customer_id, kind, score, ticket_id, survey_id, created_at)
      SELECT ${input.customerId}, 'csat', ${input.score}, id, 'ticket:' || id, ${input.now}::timestamp FROM claimed
      RETURNING id
    ), alerted AS (
      INSERT INTO staff_events (type, payload, created_at)
      SELECT 'csat_received',
             jsonb_build_object('ticketId', ${input.ticketId}::int, 'reference', ${ticket.reference}::text,
                                'customerId', ${input.customerId}::int, 'score', ${input.score}::int),
             ${input.now}::timestamp
        FROM claimed
    )
    SELECT id AS feedback_id FROM stored`;
  const row = rows[0];
  if (!row) return err({ type: "already_rated" });
  return ok({ feedbackId: Number(row.feedback_id) });
}
