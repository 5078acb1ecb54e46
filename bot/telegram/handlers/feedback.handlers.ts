// NPS buttons, the SERVQUAL survey (/survey or the invitation's button, answers, Skip / Stop),
// CSAT. Each press is one core call; its outcome becomes a notice on the button and replies.
import { Composer } from "grammy";
import {
  ownsOutboxMessage,
  pressNpsScore,
  pressServqualAnswer,
  pressServqualExit,
  startSurvey,
  type ButtonResult,
} from "../../../core/conversation/conversation";
import { recordCsat } from "../../../core/feedback/csat";
import type { CallbackAction } from "../../../core/messaging/callback-data";
import { conversationDeps, type BotContext } from "../bot-context";
import { answerCallback, dropKeyboard, replyUnlinked, sendReplies } from "./replies";

export const feedbackHandlers = new Composer<BotContext>();

async function applyButton(ctx: BotContext, result: ButtonResult): Promise<void> {
  ctx.session = result.state;
  await answerCallback(ctx, result.notice);
  if (result.answered && !result.notice) await dropKeyboard(ctx);
  await sendReplies(ctx, result.replies);
}

feedbackHandlers.command("survey", async (ctx) => {
  const now = ctx.deps.now();
  const result = startSurvey(conversationDeps(ctx.deps), {
    customer: ctx.customer,
    surveyId: `tg:${ctx.chat.id}:${now.getTime()}`,
    state: ctx.session,
    now,
  });
  ctx.session = result.state;
  await sendReplies(ctx, result.replies);
});

export async function handleFeedbackCallback(
  ctx: BotContext,
  action: Extract<CallbackAction, { type: "nps" | "servqual_start" | "servqual_answer" | "servqual_exit" | "csat" }>,
): Promise<void> {
  if (!ctx.customer) return replyUnlinked(ctx);
  const deps = conversationDeps(ctx.deps);
  const now = ctx.deps.now();
  const base = { customer: ctx.customer, state: ctx.session, now };
  switch (action.type) {
    case "nps":
      return applyButton(ctx, await pressNpsScore(deps, { ...base, outboxId: action.outboxId, score: action.score }));
    case "servqual_start": {
      if (!(await ownsOutboxMessage(ctx.deps.db, action.outboxId, ctx.customer.id, "survey_servqual")))
        return answerCallback(ctx, "callback-invalid");
      return applyButton(ctx, startSurvey(deps, { ...base, surveyId: `outbox:${action.outboxId}` }));
    }
    case "servqual_answer":
      return applyButton(ctx, await pressServqualAnswer(deps, { ...base, step: action.step, value: action.value }));
    case "servqual_exit":
      return applyButton(ctx, pressServqualExit(deps, { ...base, exit: action.exit, step: action.step }));
    case "csat": {
      const result = await recordCsat(ctx.deps.db, {
        ticketId: action.ticketId,
        customerId: ctx.customer.id,
        score: action.score,
        now,
      });
      if (!result.ok)
        return answerCallback(ctx, result.error.type === "not_found" ? "callback-invalid" : "callback-stale");
      await answerCallback(ctx);
      await dropKeyboard(ctx);
      await ctx.reply(ctx.tr("csat-thanks"));
      return;
    }
  }
}
