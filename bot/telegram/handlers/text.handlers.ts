// Free text and media: each becomes one call to the conversation core (`handleCustomerMessage`),
// and its replies become messages. /complaint enters the complaint flow. Media the conversation
// cannot use (stickers, locations, polls...) get a short answer and write nothing.
import { Composer } from "grammy";
import type { Message } from "grammy/types";
import { handleCustomerMessage, startComplaint } from "../../../core/conversation/conversation";
import type { Attachment } from "../../../core/tickets/tickets";
import type { BotContext } from "../bot-context";
import { conversationDeps } from "../bot-context";
import { sendReplies } from "./replies";

export const complaintCommand = new Composer<BotContext>();

complaintCommand.command("complaint", async (ctx) => {
  const result = startComplaint(ctx.customer, ctx.session, ctx.deps.now());
  ctx.session = result.state;
  await sendReplies(ctx, result.replies);
});

export const textHandlers = new Composer<BotContext>();

/** Telegram's file references for the media a message carries (the largest photo size). */
function attachmentsOf(message: Message): Attachment[] {
  const found: Attachment[] = [];
  if (message.photo?.length) found.push({ kind: "photo", fileId: message.photo[message.photo.length - 1]!.file_id });
  if (message.document) found.push({ kind: "document", fileId: message.document.file_id });
  if (message.voice) found.push({ kind: "voice", fileId: message.voice.file_id });
  if (message.video) found.push({ kind: "video", fileId: message.video.file_id });
  if (message.video_note) found.push({ kind: "video_note", fileId: message.video_note.file_id });
  if (message.audio) found.push({ kind: "audio", fileId: message.audio.file_id });
  return found;
}

async function converse(ctx: BotContext, text: string, attachments: Attachment[]): Promise<void> {
  const result = await handleCustomerMessage(conversationDeps(ctx.deps), {
    customer: ctx.customer,
    message: {
      text,
      attachments,
      authorRef: ctx.from ? String(ctx.from.id) : undefined,
      marker: { source: "telegram", updateId: String(ctx.update.update_id) },
      recorded: ctx.recorded,
    },
    state: ctx.session,
    now: ctx.deps.now(),
  });
  ctx.session = result.state;
  await sendReplies(ctx, result.replies);
}

textHandlers.on(
  ["message:photo", "message:document", "message:voice", "message:video", "message:video_note", "message:audio"],
  async (ctx) => converse(ctx, ctx.message.caption ?? "", attachmentsOf(ctx.message)),
);

textHandlers.on(
  ["message:sticker", "message:animation", "message:location", "message:poll", "message:dice"],
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
  await converse(ctx, text, []);
});
