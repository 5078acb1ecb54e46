// NPS in conversation: the score (0-10), then a follow-up question chosen by category, then the
// free-text answer, stored and tagged with themes. A detractor's answer opens a ticket and raises
// an `nps_detractor` staff event for the Slack app.
import type { Database } from "../db/client";
import type { ChatModel } from "../llm/chat-model";
import type { PromptSource } from "../llm/prompts";
import type { Logger } from "../log";
import { err, ok, type Result } from "../result";
import { openTicket, type OpenedTicket } from "../tickets/tickets";
import { preview, raiseStaffEvent } from "../tickets/staff-events";
import { tagThemes, type Theme } from "./themes";

export type NpsCategory = "detractor" | "passive" | "promoter";

/** 0-6 detractor, 7-8 passive, 9-10 promoter. */
export function npsCategory(score: number): NpsCategory {
  if (score <= 6) return "detractor";
  return score <= 8 ? "passive" : "promoter";
}

export type NpsScoreError = { type: "invalid_score" } | { type: "already_answered" };

/**
 * Stores an NPS score for one survey (`surveyId`, e.g. `outbox:123`). A second answer to the
 * same survey is `already_answered` (a double tap, or a stale button).
 */
export async function recordNpsScore(
  db: Database,
  input: { customerId: number; score: number; surveyId: string; now: Date; source?: string },
): Promise<Result<{ feedbackId: number; category: NpsCategory }, NpsScoreError>> {
  if (!Number.isInteger(input.score) || input.score < 0 || input.score > 10) return err({ type: "invalid_score" });
  const existing = await db.prisma.feedback.findFirst({
    where: { customerId: input.customerId, kind: "nps", surveyId: input.surveyId },
    select: { id: true },
  });
  if (existing) return err({ type: "already_answered" });
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
  return ok({ feedbackId: row.id, category: npsCategory(input.score) });
}

export interface NpsCommentResult {
  themes: Theme[];
  category: NpsCategory;
  /** Opened for detractors. */
  ticket: OpenedTicket | null;
}

/**
 * Stores the follow-up answer on the NPS row and tags it. For a detractor, opens a ticket
 * (source `nps_detractor`) and raises `nps_detractor` {ticketId, reference, customerId, score,
 * themes, feedbackId, preview}.
 */
export async function recordNpsComment(
  db: Database,
  input: { feedbackId: number; customerId: number; text: string; now: Date; authorRef?: string },
  options: { chatModel?: ChatModel; prompts?: PromptSource; log?: Logger } = {},
): Promise<Result<NpsCommentResult, { type: "not_found" } | { type: "already_commented" }>> {
  const row = await db.prisma.feedback.findUnique({ where: { id: input.feedbackId } });
  if (!row || row.customerId !== input.customerId || row.kind !== "nps" || row.score === null)
    return err({ type: "not_found" });
  if (row.comment !== null) return err({ type: "already_commented" });
  const tagging = await tagThemes(input.text, options);
  const category = npsCategory(row.score);
  let ticket: OpenedTicket | null = null;
  if (category === "detractor") {
    ticket = await openTicket(db, {
      customerId: input.customerId,
      source: "nps_detractor",
      text: input.text,
      authorRef: input.authorRef,
      now: input.now,
      raiseEvent: false,
    });
  }
  await db.prisma.feedback.update({
    where: { id: row.id },
    data: { comment: input.text, themes: tagging.themes, ticketId: ticket?.id ?? null },
  });
  if (ticket) {
    await raiseStaffEvent(
      db,
      "nps_detractor",
      {
        ticketId: ticket.id,
        reference: ticket.reference,
        customerId: input.customerId,
        score: row.score,
        themes: tagging.themes,
        feedbackId: row.id,
        preview: preview(input.text),
      },
      input.now,
    );
  }
  return ok({ themes: tagging.themes, category, ticket });
}
