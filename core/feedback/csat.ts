import type { Database } from "../db/client";
import { err, ok, type Result } from "../result";
import { raiseStaffEvent } from "../tickets/staff-events";

export type CsatError =
  { type: "not_found" } | { type: "not_resolved" } | { type: "already_rated" } | { type: "invalid_score" };

/**
 * Stores the customer's CSAT rating (1-5) for a resolved ticket of theirs: a `feedback` row
 * (kind csat), `tickets.csat_score`, and a `csat_received` staff event. Rating twice is
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
  const claimed = await db.prisma.ticket.updateMany({
    where: { id: input.ticketId, csatScore: null },
    data: { csatScore: input.score },
  });
  if (claimed.count === 0) return err({ type: "already_rated" });
  const row = await db.prisma.feedback.create({
    data: {
      customerId: input.customerId,
      kind: "csat",
      score: input.score,
      ticketId: input.ticketId,
      surveyId: `ticket:${input.ticketId}`,
      createdAt: input.now,
    },
  });
  await raiseStaffEvent(
    db,
    "csat_received",
    { ticketId: input.ticketId, reference: ticket.reference, customerId: input.customerId, score: input.score },
    input.now,
  );
  return ok({ feedbackId: row.id });
}
