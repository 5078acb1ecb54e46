// Free text and everything that is not a command or a button: the NPS follow-up answer, a
// complaint, a message joining an open ticket, and bad input (media, very long texts, unknown
// commands). Media and over-long texts get an answer and write nothing.
import { Composer } from "grammy";
import { recordNpsComment } from "../../../core/feedback/nps";
import { tagThemes } from "../../../core/feedback/themes";
import { addCustomerMessage, findOpenTicket, openTicket } from "../../../core/tickets/tickets";
import type { BotContext } from "../bot-context";
import { askServqual } from "./feedback.handlers";
import { MAX_TEXT, replyUnlinked } from "./replies";

export const complaintCommand = new Composer<BotContext>();

complaintCommand.command("complaint", async (ctx) => {
  if (!ctx.customer) return replyUnlinked(ctx);
  ctx.session.flow = { type: "complaint" };
  await ctx.reply(ctx.tr("complaint-prompt"));
});

export const textHandlers = new Composer<BotContext>();

const GREETING =
  /^(hi|hello|hey|good (morning|afternoon|evening)|привет|здравствуй(те)?|добрый (день|вечер)|доброе утро)[\s!.,)]*$/iu;

textHandlers.on(
  [
    "message:sticker",
    "message:photo",
    "message:voice",
    "message:video",
    "message:video_note",
    "message:audio",
    "message:document",
    "message:animation",
    "message:location",
    "message:poll",
    "message:dice",
  ],
  async (ctx) => {
    await ctx.reply(ctx.tr("unsupported-media"));
  },
);

textHandlers.on("message:text", async (ctx) => {
  const text = ctx.message.text;
  if (text.startsWith("/")) {
    await ctx.reply(ctx.tr("unknown-command"));
    return;
  }
  if (!ctx.customer) return replyUnlinked(ctx);
  if (text.length > MAX_TEXT) {
    await ctx.reply(ctx.tr("too-long", { max: MAX_TEXT }));
    return;
  }
  const deps = ctx.deps;
  const now = deps.now();
  const authorRef = String(ctx.from.id);
  const flow = ctx.session.flow;
  if (flow?.type === "nps_comment") {
    ctx.session.flow = undefined;
    const result = await recordNpsComment(
      deps.db,
      { feedbackId: flow.feedbackId, customerId: ctx.customer.id, text, now, authorRef },
      { chatModel: deps.chatModel, log: deps.log },
    );
    if (result.ok) {
      await ctx.reply(ctx.tr("nps-thanks"));
      if (result.value.ticket) await ctx.reply(ctx.tr("nps-ticket", { reference: result.value.ticket.reference }));
      return;
    }
  }
  if (flow?.type === "servqual") {
    await askServqual(ctx, flow.state);
    return;
  }
  if (flow?.type === "complaint") {
    ctx.session.flow = undefined;
    const ticket = await openTicket(deps.db, {
      customerId: ctx.customer.id,
      source: "complaint",
      text,
      authorRef,
      now,
    });
    await ctx.reply(ctx.tr("ticket-ack", { reference: ticket.reference }));
    return;
  }
  const open = await findOpenTicket(deps.db, ctx.customer.id);
  if (open) {
    const added = await addCustomerMessage(deps.db, {
      ticketId: open.id,
      customerId: ctx.customer.id,
      text,
      authorRef,
      now,
    });
    if (added.ok) {
      await ctx.reply(ctx.tr("complaint-added", { reference: added.value.reference }));
      return;
    }
  }
  if (GREETING.test(text.trim())) {
    await ctx.reply(ctx.tr("greeting"));
    return;
  }
  const tagging = await tagThemes(text, { chatModel: deps.chatModel, log: deps.log });
  const ticket = await openTicket(deps.db, {
    customerId: ctx.customer.id,
    source: tagging.complaint ? "complaint" : "message",
    text,
    authorRef,
    now,
  });
  await ctx.reply(ctx.tr("ticket-ack", { reference: ticket.reference }));
});
