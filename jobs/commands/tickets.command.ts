// `retention tickets list|show|reply|resolve`: answering customers without Slack. A reply and the
// CSAT question after resolving go through the outbox to the customer's chat (dry run to the log
// without a Telegram token), exactly as replies from Slack do.
import type { Command } from "commander";
import { findTicketId, listTickets, ticketDetail } from "../../core/tickets/desk";
import { addStaffReply, resolveTicket } from "../../core/tickets/tickets";
import { assertUnreachable } from "../../core/result";
import { buildContext, UserError, type AppContext } from "../context";
import { buildDispatchChannel } from "../dispatch.job";

const STATUSES = ["open", "pending", "resolved", "unresolved", "all"] as const;

async function ticketIdOrFail(ctx: AppContext, ref: string): Promise<number> {
  const id = await findTicketId(ctx.db, ref);
  if (id === null)
    throw new UserError(`No ticket "${ref}". Use a reference such as T-1042; \`retention tickets list\` shows them.`);
  return id;
}

async function withContext(run: (ctx: AppContext) => Promise<void>): Promise<void> {
  const ctx = await buildContext();
  try {
    await run(ctx);
  } finally {
    await ctx.close();
  }
}

export function registerTicketsCommands(program: Command): void {
  const tickets = program
    .command("tickets")
    .description("Customer requests: list, read, reply and resolve without Slack");

  tickets
    .command("list")
    .description("List tickets, newest activity first")
    .option("--status <status>", `one of ${STATUSES.join(", ")}`, "unresolved")
    .option("--limit <n>", "at most this many", "50")
    .action(async (options: { status: string; limit: string }) => {
      if (!(STATUSES as readonly string[]).includes(options.status))
        throw new UserError(`--status must be one of ${STATUSES.join(", ")}`);
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new UserError("--limit must be a whole number between 1 and 1000");
      await withContext(async (ctx) => {
        const rows = await listTickets(ctx.db, { status: options.status as (typeof STATUSES)[number], limit });
        if (!rows.length) return void console.log("No tickets.");
        for (const t of rows)
          console.log(
            [
              t.reference,
              t.status,
              t.source,
              t.priority,
              `${t.messages} msg`,
              t.updatedAt.toISOString(),
              t.subject ?? "",
            ]
              .join("\t")
              .trimEnd(),
          );
      });
    });

  tickets
    .command("show")
    .description("Show a ticket and its whole thread")
    .argument("<ticket>", "reference (T-1042) or id")
    .action(async (ref: string) => {
      await withContext(async (ctx) => {
        const detail = await ticketDetail(ctx.db, await ticketIdOrFail(ctx, ref));
        if (!detail) throw new UserError(`No ticket "${ref}".`);
        const who = detail.customer
          ? `${detail.customer.name ?? "(no name)"} (${detail.customer.externalId})`
          : "(erased)";
        console.log(`${detail.reference}  ${detail.status}  ${detail.source}  priority ${detail.priority}`);
        console.log(`customer: ${who}`);
        for (const m of detail.thread) {
          const files = m.attachments.length
            ? `  [${m.attachments.map((a) => `${a.kind} ${a.fileId}`).join(", ")}]`
            : "";
          console.log(`\n${m.createdAt.toISOString()}  ${m.author}${m.internal ? " (internal note)" : ""}${files}`);
          console.log(m.text);
        }
      });
    });

  tickets
    .command("reply")
    .description("Reply to the customer (through the outbox to their chat); --internal keeps it a note")
    .argument("<ticket>", "reference (T-1042) or id")
    .argument("<text...>", "the reply")
    .option("--internal", "an internal note the customer never sees")
    .option("--staff <name>", "who answers, kept with the reply", "cli")
    .action(async (ref: string, words: string[], options: { internal?: boolean; staff: string }) => {
      await withContext(async (ctx) => {
        const ticketId = await ticketIdOrFail(ctx, ref);
        const result = await addStaffReply(
          ctx.db,
          ticketId,
          { text: words.join(" "), staffId: options.staff, internal: Boolean(options.internal) },
          { channel: await buildDispatchChannel(ctx), now: ctx.now(), defaultLocale: ctx.config.business.locale },
        );
        if (!result.ok) {
          switch (result.error.type) {
            case "empty":
              throw new UserError("The reply is empty: write the text after the ticket reference.");
            case "not_found":
              throw new UserError(`No ticket "${ref}".`);
            case "too_long":
              throw new UserError(
                `The reply has ${result.error.length} characters; Telegram takes at most ${result.error.limit} in one message. Shorten it or send it in parts.`,
              );
            default:
              return assertUnreachable(result.error);
          }
        }
        const delivery = result.value.delivery;
        console.log(delivery === null ? "Internal note added." : `Reply recorded; delivery: ${delivery}.`);
      });
    });

  tickets
    .command("resolve")
    .description("Resolve a ticket; the customer is asked to rate the help (CSAT)")
    .argument("<ticket>", "reference (T-1042) or id")
    .option("--staff <name>", "who resolves it", "cli")
    .action(async (ref: string, options: { staff: string }) => {
      await withContext(async (ctx) => {
        const ticketId = await ticketIdOrFail(ctx, ref);
        const result = await resolveTicket(ctx.db, ticketId, {
          channel: await buildDispatchChannel(ctx),
          now: ctx.now(),
          staffId: options.staff,
          actor: `cli:${options.staff}`,
          defaultLocale: ctx.config.business.locale,
        });
        if (!result.ok) {
          switch (result.error.type) {
            case "already_resolved":
              throw new UserError(`${ref} is already resolved.`);
            case "not_found":
              throw new UserError(`No ticket "${ref}".`);
            default:
              return assertUnreachable(result.error);
          }
        }
        console.log(`Resolved; CSAT request: ${result.value.csat ?? "no customer"}.`);
      });
    });
}
