// NPS in conversation: the score (0-10), then a follow-up question chosen by category, then the
// free-text answer, stored and tagged with themes. A detractor's score opens a ticket and raises
// an `nps_detractor` staff event at once; the comment, if it comes, joins that ticket.
import { Prisma, type Database } from "../db/client";
import type { ChatModel } from "../llm/chat-model";
import type { PromptSource } from "../llm/prompts";
import type { Logger } from "../log";
import { err, ok, type Result } from "../result";
import { addCustomerMessage, markerCte, openTicket, type OpenedTicket, type UpdateMarker } from "../tickets/tickets";
import { tagThemes, type Theme } from "./themes";

export type NpsCategory = "detractor" | "passive" | "promoter";

/** 0-6 detractor, 7-8 passive, 9-10 promoter. */
export function npsCategory(score: number): NpsCategory {
  if (score <= 6) return "detractor";
  return score <= 8 ? "passive" : "promoter";
}

export type NpsScoreError = { type: "invalid_score" } | { type: "already_answered" };

/**
 * Stores an NPS score for one survey (`surveyId`, e.g. `outbox:123`). A detractor (0-6) reaches
 * staff at once: a ticket with an `nps_detractor` event, whether or not a comment follows. A second
 * answer to the same survey is `already_answered` (a double tap, or a stale button); when a crash
 * came between the score and its ticket, that second delivery opens the missing ticket.
 */
export async function recordNpsScore(
  db: Database,
  input: { customerId: number; score: number; surveyId: string; now: Date; source?: string },
): Promise<Result<{ feedbackId: number; category: NpsCategory; ticket: OpenedTicket | null }, NpsScoreError>> {
  if (!Number.isInteger(input.score) || input.score < 0 || input.score > 10) return err({ type: "invalid_score" });
  const existing = await db.prisma.feedback.findFirst({
    where: { customerId: input.customerId, kind: "nps", surveyId: input.surveyId },
    select: { id: true, score: true, ticketId: true },
  });
  if (existing) {
    if (existing.score !== null && npsCategory(existing.score) === "detractor" && existing.ticketId === null)
      await openDetractorTicket(db, input.customerId, existing.id, existing.score, input.now);
    return err({ type: "already_answered" });
  }
  const row = await db.prisma.feedback.create({
    data: {
      customerId: input.customerId,
      kind: "nps",
      score: input.score,
      surveyId: input.surveyId,
      source: input.source ?? "telegram",
      createdAt: input.now,
    },
  });
  const category = npsCategory(input.score);
  const ticket =
    category === "detractor" ? await openDetractorTicket(db, input.customerId, row.id, input.score, input.now) : null;
  return ok({ feedbackId: row.id, category, ticket });
}

async function openDetractorTicket(
  db: Database,
  customerId: number,
  feedbackId: number,
  score: number,
  now: Date,
): Promise<OpenedTicket> {
  const ticket = await openTicket(db, {
    customerId,
    source: "nps_detractor",
    text: `NPS ${score}/10`,
    detractor: { score, feedbackId },
    now,
  });
  await db.prisma.feedback.update({ where: { id: feedbackId }, data: { ticketId: ticket.id } });
  return ticket;
}

export interface NpsCommentResult {
  themes: Theme[];
  category: NpsCategory;
  /** The detractor's ticket the comment joined. */
  ticket: OpenedTicket | null;
}

/**
 * Stores the follow-up answer on the NPS row and tags it, in one statement with what it writes
 * besides (and with `marker`, the update it came in): a detractor's comment joins the ticket opened
 * with the score (a new one when that was resolved meanwhile), and staff are told.
 * @returns `already_commented` also when `marker` shows the update's write was done.
 */
export async function recordNpsComment(
  db: Database,
  input: { feedbackId: number; customerId: number; text: string; now: Date; authorRef?: string; marker?: UpdateMarker },
  options: { chatModel?: ChatModel; prompts?: PromptSource; log?: Logger } = {},
): Promise<Result<NpsCommentResult, { type: "not_found" } | { type: "already_commented" }>> {
  const row = await db.prisma.feedback.findUnique({ where: { id: input.feedbackId } });
  if (!row || row.customerId !== input.customerId || row.kind !== "nps" || row.score === null)
    return err({ type: "not_found" });
  if (row.comment !== null) return err({ type: "already_commented" });
  const tagging = await tagThemes(input.text, options);
  const category = npsCategory(row.score);
  const comment = { feedbackId: row.id, comment: input.text, themes: tagging.themes };
  if (category !== "detractor") {
    const stored = await db.prisma.$queryRaw<{ id: number }[]>`
      WITH ${markerCte(input.marker, {
        outcome: Prisma.sql`jsonb_build_object('type', 'nps_comment', 'ticketId', NULL, 'reference', NULL, 'at', ${input.now.toISOString()}::text)`,
        from: Prisma.sql`(SELECT 1) AS one`,
        returning: Prisma.sql`1 AS ok`,
        passThrough: Prisma.sql`1 AS ok`,
      })}
      UPDATE feedback SET comment = ${comment.comment}, themes = ${comment.themes}::text[]
      WHERE id = ${row.id} AND comment IS NULL AND EXISTS (SELECT 1 FROM marker)
      RETURNING id`;
    if (stored.length === 0) return err({ type: "already_commented" });
    return ok({ themes: tagging.themes, category, ticket: null });
  }
  const message = { customerId: input.customerId, text: input.text, authorRef: input.authorRef, now: input.now };
  const joined = row.ticketId
    ? await addCustomerMessage(db, { ...message, ticketId: row.ticketId, npsComment: comment, marker: input.marker })
    : null;
  if (joined?.ok)
    return ok({ themes: tagging.themes, category, ticket: { id: joined.value.id, reference: joined.value.reference } });
  if (joined?.error.type === "duplicate") return err({ type: "already_commented" });
  const opened = await openTicket(db, {
    ...message,
    source: "nps_detractor",
    themes: tagging.themes,
    detractor: { score: row.score, feedbackId: row.id },
    npsComment: comment,
    marker: input.marker,
  });
  if (!opened) return err({ type: "already_commented" });
  return ok({ themes: tagging.themes, category, ticket: opened });
}
