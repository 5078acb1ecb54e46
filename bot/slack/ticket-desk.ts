// The complaint desk: new tickets from `staff_events` become Slack posts with the customer card
// and buttons; replies written in a ticket's thread reach the customer on Telegram (`note:` keeps
// them internal); Resolve asks for CSAT; the post is updated with status, assignee and time to
// first response.
import type { App, BlockAction, ButtonAction } from "@slack/bolt";
import { ErrorCode, type WebClient } from "@slack/web-api";
import { assertUnreachable } from "../../core/result";
import type { KnownBlock } from "@slack/types";
import type { SendNowOutcome } from "../../core/messaging/outbox";
import type { RenderedDocument } from "../../core/messaging/channel";
import { mentionedUsers, slackToPlain, slackToTelegramHtml } from "./slack-to-telegram";
import {
  addStaffReply,
  type Attachment,
  editStaffReply,
  resolveTicket,
  retryStaffReply,
  type EditReplyError,
  type StaffReplyError,
} from "../../core/tickets/tickets";
import { clearDeskProblem, markDeskProblemAlerted, recordDeskProblem } from "../../core/staff/desk-status";
import {
  assignTicket,
  claimReplyFile,
  claimSlackEvent,
  claimStaffEvents,
  completeMediaUpload,
  completeStaffEvent,
  customerMessagePosts,
  failStaffEvent,
  findTicketByThread,
  markMediaUploadDeleted,
  mediaUploadOf,
  mediaUploadsToDelete,
  recordCustomerMessagePost,
  recordTicketPost,
  replyFilesOf,
  settleReplyFile,
  startMediaUpload,
  STAFF_ALERT_TYPES,
  ticketCard,
  type StaffEventRow,
  type TicketCard,
} from "../../core/staff/ticket-desk";
import { esc, ticketBlocks, ticketSummaryText } from "./blocks";
import type { SlackDeps } from "./deps";
import { deleteSlackFile, isSharedIn, uploadIntoThread, type SlackUpload } from "./slack-files";
import { STAFF_ONLY_TEXT } from "./staff-guard";

export const TICKET_EVENT_TYPES = STAFF_ALERT_TYPES;
/** The desk problem raised when the tickets channel cannot be posted to. */
export const TICKETS_CHANNEL_PROBLEM = "tickets_channel";

/** Slack errors that no retry fixes until a person acts: these raise the one alert. */
const BLOCKING_ERRORS = new Set([
  "not_in_channel",
  "channel_not_found",
  "is_archived",
  "invalid_auth",
  "not_authed",
  "token_revoked",
  "token_expired",
  "account_inactive",
  "missing_scope",
  "restricted_action",
]);

/** The Web API's error code (`not_in_channel`...) of a failed call, or null for other failures. */
export function slackErrorCode(error: unknown): string | null {
  const e = error as { code?: string; data?: { error?: unknown } } | null;
  if (e?.code === ErrorCode.PlatformError && typeof e.data?.error === "string") return e.data.error;
  return null;
}

/** What staff are told when tickets cannot be posted, with what to do about it. */
export function deskProblemText(reason: string, channel: string): string {
  const where = `<#${channel}>`;
  const what = (() => {
    switch (reason) {
      case "not_in_channel":
        return `the app is not a member of ${where}. Invite it there (\`/invite @retention\` in the channel)`;
      case "channel_not_found":
        return `Slack does not know the channel SLACK_TICKETS_CHANNEL=${channel} (or the app cannot see it). Check the id`;
      case "is_archived":
        return `${where} is archived. Unarchive it or set SLACK_TICKETS_CHANNEL to another channel`;
      case "invalid_auth":
      case "not_authed":
      case "token_revoked":
      case "token_expired":
      case "account_inactive":
        return `the bot token was refused (${reason}). Reinstall the app and update SLACK_BOT_TOKEN`;
      default:
        return `Slack refused the post (${reason})`;
    }
  })();
  return (
    `:rotating_light: New tickets cannot be posted: ${what}. ` +
    "Customers' tickets are kept and retried with a growing delay; `/retention status` shows how many are waiting."
  );
}
const NOTE = /^\s*note:\s*/i;

/** What a thread post quoting a customer says once that customer has been erased. */
export const ERASED_MESSAGE_TEXT = "Customer wrote: (removed: the customer's data was erased at their request)";

/** How staff read a kind of customer media. */
const MEDIA_WORDS: Record<Attachment["kind"], string> = {
  photo: "photo",
  document: "document",
  voice: "voice message",
  video: "video",
  video_note: "video message",
  audio: "audio",
};

/** The media stored with a ticket message (`[{kind, fileId}]`), or none. */
function attachmentsOf(value: unknown): Attachment[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (a): a is Attachment =>
      typeof a === "object" && a !== null && typeof a.fileId === "string" && typeof a.kind === "string",
  );
}

/** Files staff attach in a ticket's thread go to the customer up to this size each (Telegram takes 50 MB). */
export const MAX_REPLY_FILE_BYTES = 20 * 1024 * 1024;

/** A file shared in a ticket's thread (from the message event). */
export interface ThreadFile {
  /** Slack's file id (`F...`): a file is sent to the customer once, whatever edits follow. */
  id?: string;
  name: string;
  url: string;
  size: number;
}

/** Why a staff reply was not taken, in words staff can act on. */
export function replyErrorText(e: StaffReplyError): string {
  switch (e.type) {
    case "empty":
      return "the reply is empty";
    case "not_found":
      return "the ticket no longer exists";
    case "too_long":
      return `the reply is ${e.length.toLocaleString("en-US")} characters and Telegram allows at most ${e.limit.toLocaleString("en-US")} in one message; shorten it or send it as several replies`;
    default:
      return assertUnreachable(e);
  }
}

/** Why an edit of a reply did not reach the customer, in words staff can act on (null: not a reply, say nothing). */
export function editErrorText(e: EditReplyError): string | null {
  switch (e.type) {
    case "not_found":
      return null;
    case "empty":
      return "the edited reply is empty; the customer still sees the earlier text";
    case "too_long":
      return `the edited reply is ${e.length.toLocaleString("en-US")} characters and Telegram allows at most ${e.limit.toLocaleString("en-US")}; the customer still sees the earlier text`;
    case "in_flight":
      return "the reply was being sent at that moment; edit it again in a few seconds";
    case "not_delivered":
      return `the reply never reached the customer (${e.status}), so there is nothing to edit`;
    default:
      return assertUnreachable(e);
  }
}

/**
 * Says why a reply did not reach the customer; a reply Telegram refused gets a Retry button
 * (`ticket_retry_reply`, value `<ticket>:<message>`), which sends the same message again.
 */
export function notDeliveredMessage(
  ticketId: number,
  messageId: number,
  delivery: SendNowOutcome,
  deliveryError: string | null,
): { text: string; blocks: KnownBlock[] } {
  const why =
    delivery === "unreachable"
      ? "the customer has no reachable Telegram chat"
      : delivery === "retry"
        ? "Telegram did not answer; it will be retried"
        : `Telegram refused it${deliveryError ? ` (${esc(deliveryError.slice(0, 300))})` : ""}`;
  const text = `:warning: Reply saved but not delivered: ${why}. The ticket still counts as unanswered.`;
  const blocks: KnownBlock[] = [{ type: "section", text: { type: "mrkdwn", text } }];
  if (delivery === "failed")
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          action_id: "ticket_retry_reply",
          text: { type: "plain_text", text: "Retry" },
          value: `${ticketId}:${messageId}`,
        },
      ],
    });
  return { text, blocks };
}

export class SlackTicketDesk {
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<unknown> | null = null;

  constructor(
    private readonly deps: SlackDeps,
    private readonly client: WebClient,
  ) {}

  private get channel(): string | undefined {
    return this.deps.config.slack.ticketsChannel;
  }

  /**
   * Posts the staff events that are due, each under a lease and marked done only after Slack
   * took it. A failure backs the event off; a failure no retry fixes (the app is not in the
   * channel, a revoked token) also raises one alert and stops this round.
   */
  async pollOnce(limit = 20): Promise<{ handled: number; failed: number }> {
    if (!this.channel) return { handled: 0, failed: 0 };
    const events = await claimStaffEvents(this.deps.db, {
      types: TICKET_EVENT_TYPES,
      limit,
      now: this.deps.now(),
      leaseMs: this.deps.config.slack.eventLeaseMs,
    });
    let handled = 0;
    let failed = 0;
    for (const [i, event] of events.entries()) {
      if (this.deps.config.faultKillAt === "staff-event-claimed") process.kill(process.pid, "SIGKILL");
      try {
        await this.handleEvent(event);
      } catch (error) {
        failed++;
        const code = slackErrorCode(error);
        const message = code ?? (error instanceof Error ? error.message : String(error));
        this.deps.log.error({ err: message, eventId: event.id, type: event.type }, "ticket event not posted");
        await failStaffEvent(this.deps.db, event.id, { now: this.deps.now(), error: message });
        if (code && BLOCKING_ERRORS.has(code)) {
          // The rest would fail the same way: give them back to back off together.
          for (const rest of events.slice(i + 1))
            await failStaffEvent(this.deps.db, rest.id, { now: this.deps.now(), error: message });
          failed += events.length - i - 1;
          await this.raiseProblem(code);
          break;
        }
        continue;
      }
      await completeStaffEvent(this.deps.db, event.id, this.deps.now());
      handled++;
      if (handled === 1) await this.clearProblem();
    }
    return { handled, failed };
  }

  /** Tells staff once that tickets cannot be posted: the staff channel, else each admin directly. */
  private async raiseProblem(reason: string): Promise<void> {
    const now = this.deps.now();
    const { alertDue } = await recordDeskProblem(this.deps.db, TICKETS_CHANNEL_PROBLEM, reason, now);
    if (!alertDue) return;
    const text = deskProblemText(reason, this.channel!);
    const { staffChannel, staffUsers } = this.deps.config.slack;
    const targets = [
      ...(staffChannel && staffChannel !== this.channel ? [staffChannel] : []),
      ...staffUsers, // posting to a user id lands in the app's direct message with them
    ];
    for (const target of targets) {
      try {
        await this.client.chat.postMessage({ channel: target, text });
        await markDeskProblemAlerted(this.deps.db, TICKETS_CHANNEL_PROBLEM, target, now);
        this.deps.log.warn({ reason, alerted: target }, "tickets cannot be posted; staff alerted");
        if (target === staffChannel) return;
      } catch (error) {
        this.deps.log.warn({ err: slackErrorCode(error) ?? String(error), target }, "desk alert not posted");
      }
    }
    this.deps.log.error({ reason }, "tickets cannot be posted and no staff could be alerted");
  }

  /** After a successful post: the problem is over; say so where it was announced. */
  private async clearProblem(): Promise<void> {
    const problem = await clearDeskProblem(this.deps.db, TICKETS_CHANNEL_PROBLEM);
    if (!problem?.alertedTo) return;
    await this.client.chat
      .postMessage({
        channel: problem.alertedTo,
        text: `:white_check_mark: Tickets reach <#${this.channel!}> again (blocked since ${problem.since.toISOString().slice(0, 16).replace("T", " ")} UTC by ${problem.reason}); the waiting ones are being posted.`,
      })
      .catch((error: unknown) => this.deps.log.warn({ err: String(error) }, "desk recovery note not posted"));
  }

  /** Polls every `intervalMs` until `stop()`. */
  start(intervalMs = 5_000): void {
    if (this.timer || !this.channel) return;
    const tick = () => {
      this.polling ??= this.pollOnce()
        .catch((error) =>
          this.deps.log.error({ err: error instanceof Error ? error.message : String(error) }, "ticket poll failed"),
        )
        .finally(() => (this.polling = null));
    };
    this.timer = setInterval(tick, intervalMs);
    tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
  }

  private async handleEvent(event: StaffEventRow): Promise<void> {
    const ticketId = Number(event.payload.ticketId);
    if (!Number.isInteger(ticketId)) {
      this.deps.log.warn({ eventId: event.id, type: event.type }, "staff event without a ticket, skipped");
      return;
    }
    const card = await ticketCard(this.deps.db, ticketId);
    if (!card) return;
    if (event.type === "ticket_erased") return this.redactPosts(ticketId, card);
    if (event.type === "ticket_opened" || event.type === "nps_detractor") {
      let post = card.slack;
      if (post) await this.refreshCard(ticketId);
      else {
        const posted = await this.client.chat.postMessage({
          channel: this.channel!,
          text: `New ${ticketSummaryText(card)}`,
          blocks: ticketBlocks(card, this.deps.config.business.currency, this.deps.now()),
          unfurl_links: false,
        });
        if (!posted.ts || !posted.channel) throw new Error("chat.postMessage returned no ts");
        post = { channel: posted.channel, ts: posted.ts };
        await recordTicketPost(this.deps.db, ticketId, post);
      }
      // Media the customer opened the ticket with: the card has the words, the thread the files
      // (also on a retry after the card was posted: each file goes up once).
      const opening = await this.deps.db.prisma.ticketMessage.findFirst({
        where: { ticketId, author: "customer" },
        orderBy: { id: "asc" },
        select: { id: true, slackTs: true, attachments: true },
      });
      const media = attachmentsOf(opening?.attachments);
      if (opening && media.length)
        await this.postCustomerMessage(
          post.channel,
          post.ts,
          "The customer attached:",
          { ...opening, media },
          ticketId,
        );
      return;
    }
    if (!card.slack) return; // the opening post will show it
    if (event.type === "ticket_message") {
      // The whole message (the event holds a preview): staff read it in the thread, uncut.
      const messageId = Number(event.payload.messageId);
      const stored = Number.isInteger(messageId)
        ? await this.deps.db.prisma.ticketMessage.findUnique({
            where: { id: messageId },
            select: { id: true, text: true, slackTs: true, attachments: true },
          })
        : null;
      const text =
        stored?.text ?? (typeof event.payload.preview === "string" ? event.payload.preview : "(new message)");
      const media = attachmentsOf(stored?.attachments);
      // Bare media are stored as "[photo]": the thread shows the file, not the placeholder.
      const words = media.length && /^(\[[a-z_]+\]\s*)+$/.test(text.trim()) ? "" : text;
      await this.postCustomerMessage(
        card.slack.channel,
        card.slack.ts,
        words ? `Customer wrote:\n>${esc(words).replace(/\n/g, "\n>")}` : "Customer sent:",
        stored ? { ...stored, media } : null,
        ticketId,
      );
    } else if (event.type === "csat_received") {
      await this.client.chat.postMessage({
        channel: card.slack.channel,
        thread_ts: card.slack.ts,
        text: `Customer rated the help ${String(event.payload.score)}/5 (CSAT).`,
      });
    }
    await this.refreshCard(ticketId);
  }

  /**
   * After the ticket's customer was erased: the card is re-rendered (it no longer names them or
   * quotes them), every thread post that showed their words is replaced, and every file of theirs
   * the app uploaded is deleted from Slack. Each step is the same whenever it is repeated, so a
   * retry after a failure redoes them all safely.
   */
  private async redactPosts(ticketId: number, card: TicketCard): Promise<void> {
    if (!card.slack) return; // never posted: a later post shows the erased card
    await this.refreshCard(ticketId);
    for (const post of await customerMessagePosts(this.deps.db, ticketId))
      await this.client.chat.update({
        channel: card.slack.channel,
        ts: post.ts,
        text: ERASED_MESSAGE_TEXT,
        blocks: [],
      });
    for (const fileId of await mediaUploadsToDelete(this.deps.db, ticketId))
      if (await deleteSlackFile(this.client, fileId))
        await markMediaUploadDeleted(this.deps.db, fileId, this.deps.now());
  }

  /**
   * Posts a customer's message into the ticket thread: the words as a message of their own (its
   * ts kept on the ticket message, so an erasure can edit it), then each file fetched from
   * Telegram and uploaded into the thread without the words. Each file's Slack id is kept before
   * it is shared and marked once shared, so a retried staff event (after a crash or a Slack
   * failure) posts the words once and uploads each file once. A file that cannot be fetched or
   * uploaded is named in a note ("(photo could not be attached)"); nothing the customer wrote is
   * lost.
   */
  private async postCustomerMessage(
    channel: string,
    threadTs: string,
    text: string,
    message: { id: number; slackTs: string | null; media: Attachment[] } | null,
    ticketId: number,
  ): Promise<void> {
    const db = this.deps.db;
    const files: { index: number; kind: Attachment["kind"]; upload: SlackUpload }[] = [];
    const missing: string[] = [];
    for (const [i, item] of (message?.media ?? []).entries()) {
      const started = await mediaUploadOf(db, message!.id, i);
      if (started?.completedAt) continue;
      if (started && (await isSharedIn(this.client, started.slackFileId, channel))) {
        // Shared before a crash kept it from being marked: it is in the thread already.
        await completeMediaUpload(db, started.slackFileId, this.deps.now());
        continue;
      }
      try {
        if (!this.deps.telegramChannel.downloadFile) throw new Error("the channel keeps no files");
        const file = await this.deps.telegramChannel.downloadFile(item.fileId, {
          maxBytes: MAX_REPLY_FILE_BYTES,
          signal: AbortSignal.timeout(30_000),
        });
        files.push({
          index: i,
          kind: item.kind,
          upload: { filename: file.fileName, title: `${MEDIA_WORDS[item.kind]} ${i + 1}`, content: file.bytes },
        });
      } catch (error) {
        this.deps.log.warn(
          { ticketId, kind: item.kind, err: error instanceof Error ? error.message.slice(0, 200) : String(error) },
          "customer media not fetched",
        );
        missing.push(item.kind);
      }
    }
    const note = (kinds: string[]) =>
      kinds.map((k) => `_(${MEDIA_WORDS[k as Attachment["kind"]] ?? k} could not be attached)_`).join("\n");
    if (!message?.slackTs) {
      const posted = await this.client.chat.postMessage({
        channel,
        thread_ts: threadTs,
        text: missing.length ? `${text}\n${note(missing)}` : text,
      });
      // Kept so the post can be edited if the customer is erased later (and is not posted twice).
      if (message && posted.ts) await recordCustomerMessagePost(db, message.id, posted.ts);
    }
    const failed: string[] = [];
    for (const f of files) {
      try {
        const fileId = await uploadIntoThread(this.client, { channel, threadTs }, f.upload, async (id) => {
          const earlier = await mediaUploadOf(db, message!.id, f.index);
          // An earlier start that never reached the thread is replaced, not left behind.
          if (earlier && earlier.slackFileId !== id)
            await deleteSlackFile(this.client, earlier.slackFileId).catch(() => false);
          await startMediaUpload(db, {
            ticketMessageId: message!.id,
            index: f.index,
            slackFileId: id,
            now: this.deps.now(),
          });
        });
        if (this.deps.config.faultKillAt === "slack-media-shared") process.kill(process.pid, "SIGKILL");
        await completeMediaUpload(db, fileId, this.deps.now());
      } catch (error) {
        // A blocked channel or token is the poll's to handle (alert, back off): the event is retried.
        const code = slackErrorCode(error);
        if (code && BLOCKING_ERRORS.has(code)) throw error;
        this.deps.log.warn({ ticketId, err: code ?? String(error) }, "customer media not uploaded");
        failed.push(f.kind);
      }
    }
    if (failed.length) await this.client.chat.postMessage({ channel, thread_ts: threadTs, text: note(failed) });
  }

  /** Re-renders the ticket's post (status, assignee, first response). */
  async refreshCard(ticketId: number): Promise<void> {
    const card = await ticketCard(this.deps.db, ticketId);
    if (!card?.slack) return;
    await this.client.chat.update({
      channel: card.slack.channel,
      ts: card.slack.ts,
      text: ticketSummaryText(card),
      blocks: ticketBlocks(card, this.deps.config.business.currency, this.deps.now()),
    });
  }

  /** A staff member's message in a ticket thread: a reply to the customer, or a `note:`. */
  async handleThreadMessage(message: {
    user: string;
    text: string;
    channel: string;
    ts: string;
    threadTs: string;
    eventId?: string;
    files?: ThreadFile[];
  }): Promise<void> {
    const ticketId = await findTicketByThread(this.deps.db, message.channel, message.threadTs);
    if (ticketId === null) return;
    if (message.eventId && !(await claimSlackEvent(this.deps.db, message.eventId))) return;
    const decision = await this.deps.guard.check(message.user, message.channel);
    if (!decision.allowed) {
      await this.client.chat.postEphemeral({
        channel: message.channel,
        user: message.user,
        thread_ts: message.threadTs,
        text: STAFF_ONLY_TEXT,
      });
      return;
    }
    const internal = NOTE.test(message.text);
    const raw = message.text.replace(NOTE, "");
    const names = await this.displayNames(mentionedUsers(raw));
    const place = { user: message.user, internal, channel: message.channel, threadTs: message.threadTs };
    const text = slackToPlain(raw, names);
    if (text)
      await this.reply(ticketId, { ...place, text, html: slackToTelegramHtml(raw, names), slackTs: message.ts });
    for (const file of message.files ?? [])
      await this.sendThreadFile(ticketId, file, { ...place, slackTs: message.ts, keepTs: !text });
  }

  /**
   * Sends a thread file on to the customer as a document, through the outbox. A file with an id
   * is claimed first (`slack_reply_files`), so a message edited later never sends it again.
   */
  private async sendThreadFile(
    ticketId: number,
    file: ThreadFile,
    place: { user: string; internal: boolean; channel: string; threadTs: string; slackTs: string; keepTs: boolean },
  ): Promise<void> {
    if (
      file.id &&
      !(await claimReplyFile(this.deps.db, { slackFileId: file.id, slackTs: place.slackTs, fileName: file.name }))
    )
      return;
    const document = await this.download(file);
    if (typeof document === "string") {
      if (file.id) await settleReplyFile(this.deps.db, file.id, null);
      await this.client.chat.postMessage({
        channel: place.channel,
        thread_ts: place.threadTs,
        text: `:warning: ${esc(file.name)} was not sent: ${document}.`,
      });
      return;
    }
    const messageId = await this.reply(ticketId, {
      ...place,
      text: "",
      document,
      slackTs: place.keepTs ? place.slackTs : undefined,
    });
    if (file.id) await settleReplyFile(this.deps.db, file.id, messageId);
  }

  /**
   * A staff member edited a message in a ticket thread: a delivered reply is edited in the
   * customer's chat, one not delivered yet changes what will be sent, a note changes in the
   * ticket. A pencil reaction says it was applied; a thread message says why not.
   */
  async handleThreadEdit(edit: {
    user: string;
    text: string;
    channel: string;
    ts: string;
    threadTs: string;
    editedTs: string;
    eventId?: string;
    /** False when only the files changed: the text is left as it is. */
    textChanged?: boolean;
    /** The message's files after the edit, when the event carries them. */
    files?: ThreadFile[];
    /** The ids of the files it carried before the edit. */
    previousFileIds?: string[];
  }): Promise<void> {
    const ticketId = await findTicketByThread(this.deps.db, edit.channel, edit.threadTs);
    if (ticketId === null) return;
    if (edit.eventId && !(await claimSlackEvent(this.deps.db, edit.eventId))) return;
    if (!(await this.deps.guard.check(edit.user, edit.channel)).allowed) return;
    if (edit.files)
      await this.handleFileEdit(ticketId, { ...edit, files: edit.files, previousFileIds: edit.previousFileIds ?? [] });
    if (edit.textChanged === false || (edit.files?.length && !edit.text.trim())) return;
    const raw = edit.text.replace(NOTE, "");
    const names = await this.displayNames(mentionedUsers(raw));
    const result = await editStaffReply(
      this.deps.db,
      {
        slackTs: edit.ts,
        editKey: edit.editedTs,
        text: slackToPlain(raw, names),
        html: slackToTelegramHtml(raw, names),
        staffId: edit.user,
      },
      { channel: this.deps.telegramChannel, now: this.deps.now(), defaultLocale: this.deps.config.business.locale },
    );
    const say = (text: string) =>
      this.client.chat.postMessage({ channel: edit.channel, thread_ts: edit.threadTs, text });
    if (!result.ok) {
      const why = editErrorText(result.error);
      if (why) await say(`:warning: Edit not sent: ${why}.`);
      return;
    }
    const outcome = result.value.outcome;
    this.deps.log.info({ ticketId, outcome: outcome.type, user: edit.user }, "staff reply edited");
    if (outcome.type === "edited" && outcome.delivery !== "sent" && outcome.delivery !== "duplicate") {
      const why =
        outcome.delivery === "retry"
          ? "Telegram did not answer; it will be retried"
          : `Telegram refused it${outcome.deliveryError ? ` (${esc(outcome.deliveryError.slice(0, 300))})` : ""}`;
      await say(`:warning: Edit not applied on Telegram yet: ${why}.`);
      return;
    }
    await this.client.reactions
      .add({ channel: edit.channel, timestamp: edit.ts, name: "pencil2" })
      .catch((error) => this.deps.log.debug({ err: String(error) }, "reaction failed"));
  }

  /**
   * The files of an edited thread message: a file the message did not carry before goes to the
   * customer (once, through the outbox); a file taken out cannot be taken back from the
   * customer's chat, and staff are told so in the thread.
   */
  private async handleFileEdit(
    ticketId: number,
    edit: {
      user: string;
      text: string;
      channel: string;
      ts: string;
      threadTs: string;
      files: ThreadFile[];
      previousFileIds: string[];
    },
  ): Promise<void> {
    const sent = await replyFilesOf(this.deps.db, edit.ts);
    const internal = NOTE.test(edit.text);
    const place = { user: edit.user, internal, channel: edit.channel, threadTs: edit.threadTs, slackTs: edit.ts };
    for (const file of edit.files)
      if (file.id && !sent.some((s) => s.slackFileId === file.id))
        await this.sendThreadFile(ticketId, file, { ...place, keepTs: false });
    // Only what this edit took out (a sent file stays sent: say so once).
    const removed = sent.filter(
      (s) => edit.previousFileIds.includes(s.slackFileId) && !edit.files.some((f) => f.id === s.slackFileId),
    );
    if (removed.length)
      await this.client.chat.postMessage({
        channel: edit.channel,
        thread_ts: edit.threadTs,
        text: `:warning: ${removed.map((r) => esc(r.fileName)).join(", ")} ${removed.length > 1 ? "were" : "was"} taken out of the message here, but the customer already has ${removed.length > 1 ? "them" : "it"} on Telegram: a file sent cannot be replaced or taken back. Write a reply if the customer should ignore ${removed.length > 1 ? "them" : "it"}.`,
      });
  }

  /** Colleagues' names for mentions in a reply (their display name, else real name). */
  private async displayNames(users: string[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (const user of users) {
      const info = await this.client.users.info({ user }).catch(() => undefined);
      const name = info?.user?.profile?.display_name || info?.user?.real_name || info?.user?.name;
      if (name) names.set(user, name);
    }
    return names;
  }

  /** A thread file's bytes (with the bot token, as Slack requires), or why it cannot be sent. */
  private async download(file: ThreadFile): Promise<RenderedDocument | string> {
    if (!file.url) return "Slack gave no download address";
    if (file.size > MAX_REPLY_FILE_BYTES) return `it is larger than ${MAX_REPLY_FILE_BYTES / 1024 / 1024} MB`;
    try {
      const response = await fetch(file.url, {
        headers: { authorization: `Bearer ${this.deps.config.slack.botToken ?? ""}` },
        signal: AbortSignal.timeout(30_000),
      });
      if (!response.ok) return `Slack answered ${response.status} when downloading it`;
      const bytes = Buffer.from(await response.arrayBuffer());
      if (bytes.length > MAX_REPLY_FILE_BYTES) return `it is larger than ${MAX_REPLY_FILE_BYTES / 1024 / 1024} MB`;
      return { fileName: file.name, base64: bytes.toString("base64") };
    } catch (error) {
      return `downloading it failed (${error instanceof Error ? error.message.slice(0, 100) : String(error)})`;
    }
  }

  private async reply(
    ticketId: number,
    r: {
      text: string;
      user: string;
      internal: boolean;
      slackTs?: string;
      channel: string;
      threadTs: string;
      echo?: boolean;
      html?: string;
      document?: RenderedDocument;
    },
  ): Promise<number | null> {
    const result = await addStaffReply(
      this.deps.db,
      ticketId,
      {
        text: r.text,
        staffId: r.user,
        internal: r.internal,
        slackTs: r.slackTs,
        html: r.html,
        document: r.document,
      },
      { channel: this.deps.telegramChannel, now: this.deps.now(), defaultLocale: this.deps.config.business.locale },
    );
    if (!result.ok) {
      await this.client.chat.postMessage({
        channel: r.channel,
        thread_ts: r.threadTs,
        text: `Not sent: ${replyErrorText(result.error)}.`,
      });
      return null;
    }
    const delivery = result.value.delivery;
    this.deps.log.info({ ticketId, internal: r.internal, delivery, user: r.user }, "staff reply recorded");
    if (r.echo) {
      await this.client.chat.postMessage({
        channel: r.channel,
        thread_ts: r.threadTs,
        text: `${r.internal ? "Internal note" : "Reply"} from <@${r.user}>:\n>${esc(r.text).replace(/\n/g, "\n>")}`,
      });
    }
    if (!r.internal && delivery !== "sent" && delivery !== "duplicate" && delivery !== null) {
      await this.client.chat.postMessage({
        channel: r.channel,
        thread_ts: r.threadTs,
        ...notDeliveredMessage(ticketId, result.value.messageId, delivery, result.value.deliveryError),
      });
    } else if (r.slackTs) {
      await this.client.reactions
        .add({ channel: r.channel, timestamp: r.slackTs, name: r.internal ? "lock" : "white_check_mark" })
        .catch((error) => this.deps.log.debug({ err: String(error) }, "reaction failed"));
    }
    await this.refreshCard(ticketId);
    return result.value.messageId;
  }

  /** Buttons, the reply modal and thread messages. */
  register(app: App): void {
    const ticketOf = (body: BlockAction) => Number((body.actions[0] as ButtonAction | undefined)?.value);
    const staffOnly = async (body: BlockAction): Promise<boolean> => {
      const decision = await this.deps.guard.check(body.user.id, body.channel?.id);
      if (decision.allowed) return true;
      if (body.channel?.id)
        await this.client.chat.postEphemeral({ channel: body.channel.id, user: body.user.id, text: STAFF_ONLY_TEXT });
      return false;
    };

    app.action<BlockAction>("ticket_retry_reply", async ({ ack, body }) => {
      await ack();
      if (!(await staffOnly(body))) return;
      const [ticketId, messageId] = String((body.actions[0] as ButtonAction | undefined)?.value ?? "")
        .split(":")
        .map(Number);
      if (!Number.isInteger(ticketId) || !Number.isInteger(messageId)) return;
      const result = await retryStaffReply(this.deps.db, ticketId!, messageId!, {
        channel: this.deps.telegramChannel,
        now: this.deps.now(),
        defaultLocale: this.deps.config.business.locale,
      });
      this.deps.log.info({ ticketId, messageId, result, user: body.user.id }, "staff reply retried");
      const delivered = result.ok && (result.value.delivery === "sent" || result.value.delivery === "duplicate");
      const update = delivered
        ? { text: `:white_check_mark: Delivered on retry by <@${body.user.id}>.`, blocks: [] }
        : result.ok
          ? notDeliveredMessage(ticketId!, messageId!, result.value.delivery, result.value.deliveryError)
          : {
              text:
                result.error.type === "not_failed"
                  ? `This reply is already ${result.error.status === "sent" ? "delivered" : result.error.status}.`
                  : "This reply no longer exists.",
              blocks: [],
            };
      if (body.channel?.id && body.message?.ts)
        await this.client.chat.update({ channel: body.channel.id, ts: body.message.ts, ...update });
      await this.refreshCard(ticketId!);
    });

    app.action<BlockAction>("ticket_full_text", async ({ ack, body, client }) => {
      await ack();
      if (!(await staffOnly(body))) return;
      const card = await ticketCard(this.deps.db, ticketOf(body));
      if (!card?.opening) return;
      const chunks = esc(card.opening).match(/[\s\S]{1,2900}/g) ?? [];
      await client.views.open({
        trigger_id: body.trigger_id,
        view: {
          type: "modal",
          title: { type: "plain_text", text: `Ticket ${card.reference}`.slice(0, 24) },
          close: { type: "plain_text", text: "Close" },
          blocks: chunks.slice(0, 100).map((chunk) => ({ type: "section", text: { type: "mrkdwn", text: chunk } })),
        },
      });
    });

    app.action<BlockAction>("ticket_assign", async ({ ack, body }) => {
      await ack();
      if (!(await staffOnly(body))) return;
      await assignTicket(this.deps.db, ticketOf(body), body.user.id);
      await this.refreshCard(ticketOf(body));
    });

    app.action<BlockAction>("ticket_resolve", async ({ ack, body }) => {
      await ack();
      if (!(await staffOnly(body))) return;
      const ticketId = ticketOf(body);
      const result = await resolveTicket(this.deps.db, ticketId, {
        channel: this.deps.telegramChannel,
        now: this.deps.now(),
        staffId: body.user.id,
        defaultLocale: this.deps.config.business.locale,
      });
      const card = await ticketCard(this.deps.db, ticketId);
      if (card?.slack) {
        const text = !result.ok
          ? result.error.type === "already_resolved"
            ? "This ticket was already resolved."
            : "This ticket no longer exists."
          : `Resolved by <@${body.user.id}>. ${result.value.csat === "sent" ? "The customer was asked to rate the help (CSAT)." : result.value.csat === null ? "No customer to ask for CSAT." : `The CSAT request was not delivered (${result.value.csat}).`}`;
        await this.client.chat.postMessage({ channel: card.slack.channel, thread_ts: card.slack.ts, text });
      }
      await this.refreshCard(ticketId);
    });

    app.action<BlockAction>("ticket_reply", async ({ ack, body, client }) => {
      await ack();
      if (!(await staffOnly(body))) return;
      await client.views.open({
        trigger_id: body.trigger_id,
        view: {
          type: "modal",
          callback_id: "ticket_reply_modal",
          private_metadata: String(ticketOf(body)),
          title: { type: "plain_text", text: "Reply to customer" },
          submit: { type: "plain_text", text: "Send" },
          blocks: [
            {
              type: "input",
              block_id: "reply",
              label: { type: "plain_text", text: "Message (goes to the customer on Telegram)" },
              element: { type: "plain_text_input", action_id: "text", multiline: true, max_length: 3000 },
            },
            {
              type: "input",
              block_id: "internal",
              optional: true,
              label: { type: "plain_text", text: "Visibility" },
              element: {
                type: "checkboxes",
                action_id: "note",
                options: [{ text: { type: "plain_text", text: "Internal note (not sent)" }, value: "note" }],
              },
            },
          ],
        },
      });
    });

    app.view("ticket_reply_modal", async ({ ack, body, view }) => {
      const text = view.state.values.reply?.text?.value?.trim() ?? "";
      if (!text) {
        await ack({ response_action: "errors", errors: { reply: "Write a message first." } });
        return;
      }
      await ack();
      const ticketId = Number(view.private_metadata);
      const card = await ticketCard(this.deps.db, ticketId);
      if (!card?.slack) return;
      if (!(await this.deps.guard.check(body.user.id, card.slack.channel)).allowed) return;
      const internal = (view.state.values.internal?.note?.selected_options ?? []).length > 0 || NOTE.test(text);
      await this.reply(ticketId, {
        text: text.replace(NOTE, ""),
        user: body.user.id,
        internal,
        channel: card.slack.channel,
        threadTs: card.slack.ts,
        echo: true,
      });
    });
  }
}
