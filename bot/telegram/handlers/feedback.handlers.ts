// NPS buttons and follow-up, the SERVQUAL survey (/survey or the invitation's button), CSAT.
import { Composer, InlineKeyboard } from "grammy";
import { recordCsat } from "../../../core/feedback/csat";
import { recordNpsScore } from "../../../core/feedback/nps";
import { answerServqual, servqualQuestion, startServqual, type ServqualState } from "../../../core/feedback/servqual";
import { encodeCallback, type CallbackAction } from "../../../core/messaging/callback-data";
import type { BotContext } from "../bot-context";
import { answerCallback, dropKeyboard, replyUnlinked } from "./replies";

export const feedbackHandlers = new Composer<BotContext>();

/** Sends the current SERVQUAL question with its 1-7 buttons. */
export async function askServqual(ctx: BotContext, state: ServqualState): Promise<void> {
  const q = servqualQuestion(state);
  const keyboard = new InlineKeyboard();
  for (let v = 1; v <= 7; v++)
    keyboard.text(String(v), encodeCallback({ type: "servqual_answer", step: q.step, value: v }));
  const text = [
    ctx.tr("servqual-progress", { step: q.number, total: q.total }),
    ctx.tr(`servqual-${q.part}-${q.dimension}`),
    ctx.tr("servqual-scale"),
  ].join("\n\n");
  await ctx.reply(text, { reply_markup: keyboard });
}

async function startSurvey(ctx: BotContext, surveyId: string): Promise<void> {
  if (!ctx.customer) return replyUnlinked(ctx);
  if (!ctx.customer.marketingConsent) {
    await answerCallback(ctx);
    await ctx.reply(ctx.tr("servqual-not-now"));
    return;
  }
  const flow = ctx.session.flow;
  // Pressing start again (or /survey) mid-survey resumes at the current question.
  const state = flow?.type === "servqual" ? flow.state : startServqual(surveyId);
  ctx.session.flow = { type: "servqual", state };
  await answerCallback(ctx);
  await askServqual(ctx, state);
}

feedbackHandlers.command("survey", async (ctx) => {
  await startSurvey(ctx, `tg:${ctx.chat.id}:${ctx.deps.now().getTime()}`);
});

/** Checks that an outbox message was sent to this customer and is of this kind. */
async function ownsOutboxMessage(ctx: BotContext, outboxId: number, kind: string): Promise<boolean> {
  const row = await ctx.deps.db.prisma.outboxMessage.findUnique({
    where: { id: outboxId },
    select: { customerId: true, kind: true },
  });
  return Boolean(row && ctx.customer && row.customerId === ctx.customer.id && row.kind === kind);
}

export async function handleFeedbackCallback(
  ctx: BotContext,
  action: Extract<CallbackAction, { type: "nps" | "servqual_start" | "servqual_answer" | "csat" }>,
): Promise<void> {
  if (!ctx.customer) return replyUnlinked(ctx);
  const now = ctx.deps.now();
  switch (action.type) {
    case "nps": {
      if (!(await ownsOutboxMessage(ctx, action.outboxId, "survey_nps")))
        return answerCallback(ctx, "callback-invalid");
      const result = await recordNpsScore(ctx.deps.db, {
        customerId: ctx.customer.id,
        score: action.score,
        surveyId: `outbox:${action.outboxId}`,
        now,
      });
      if (!result.ok) return answerCallback(ctx, "callback-stale");
      ctx.session.flow = { type: "nps_comment", feedbackId: result.value.feedbackId };
      await answerCallback(ctx);
      await dropKeyboard(ctx);
      await ctx.reply(ctx.tr(`nps-followup-${result.value.category}`));
      return;
    }
    case "servqual_start": {
      if (!(await ownsOutboxMessage(ctx, action.outboxId, "survey_servqual")))
        return answerCallback(ctx, "callback-invalid");
      await dropKeyboard(ctx);
      return startSurvey(ctx, `outbox:${action.outboxId}`);
    }
    case "servqual_answer": {
      const flow = ctx.session.flow;
      if (flow?.type !== "servqual") return answerCallback(ctx, "callback-stale");
      const result = await answerServqual(ctx.deps.db, ctx.customer.id, flow.state, {
        step: action.step,
        value: action.value,
        now,
      });
      if (!result.ok) return answerCallback(ctx, "callback-stale");
      await answerCallback(ctx);
      await dropKeyboard(ctx);
      if (result.value.next) {
        ctx.session.flow = { type: "servqual", state: result.value.next };
        await askServqual(ctx, result.value.next);
      } else {
        ctx.session.flow = undefined;
        await ctx.reply(ctx.tr("servqual-done"));
      }
      return;
    }
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
