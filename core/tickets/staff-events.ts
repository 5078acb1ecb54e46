import type { Database } from "../db/client";

/**
 * Event types the Slack app consumes from `staff_events`:
 * - `ticket_opened`: {ticketId, reference, customerId, source, preview}
 * - `nps_detractor`: {ticketId, reference, customerId, score, themes, feedbackId, preview}
 * - `ticket_message`: {ticketId, reference, customerId, messageId, preview} (customer wrote again)
 * - `csat_received`: {ticketId, reference, customerId, score}
 * - `ticket_erased`: {ticketId, reference} (its customer was erased: edit what was posted about it)
 */
export type StaffEventType = "ticket_opened" | "nps_detractor" | "ticket_message" | "csat_received" | "ticket_erased";

/** Records an event for staff; the Slack app marks it processed when posted. */
export async function raiseStaffEvent(
  db: Database,
  type: StaffEventType,
  payload: Record<string, unknown>,
  now: Date,
): Promise<number> {
  const row = await db.prisma.staffEvent.create({ data: { type, payload: payload as object, createdAt: now } });
  return row.id;
}

/** The first 300 characters of a customer's text, for alerts. */
export function preview(text: string): string {
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}
