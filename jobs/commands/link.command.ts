// `retention link CUSTOMER`: a one-time deep link that connects a customer's Telegram chat.
import type { Command } from "commander";
import { createLinkToken } from "../../core/linking/linking";
import { assertUnreachable } from "../../core/result";
import { buildContext, UserError } from "../context";

export function registerLinkCommands(program: Command): void {
  program
    .command("link")
    .description("Print a one-time Telegram deep link for a customer (external id, e-mail or phone)")
    .argument("<customer>", "external id, e-mail or phone number")
    .option("--ttl-hours <hours>", "hours the link stays valid (default LINK_TOKEN_TTL_HOURS)")
    .action(async (customerRef: string, options: { ttlHours?: string }) => {
      const ctx = await buildContext();
      try {
        const username = ctx.config.telegram.username;
        if (!username)
          throw new UserError(
            "TELEGRAM_BOT_USERNAME is not set: the link needs the bot's username (e.g. my_shop_bot).",
          );
        const ttlHours =
          options.ttlHours === undefined ? ctx.config.telegram.linkTokenTtlHours : Number(options.ttlHours);
        if (!Number.isInteger(ttlHours) || ttlHours < 1 || ttlHours > 24 * 90)
          throw new UserError("--ttl-hours must be a whole number of hours between 1 and 2160");
        const result = await createLinkToken(ctx.db, customerRef, {
          now: ctx.now(),
          ttlHours,
          botUsername: username,
          actor: "cli",
        });
        if (!result.ok) {
          switch (result.error.type) {
            case "customer_not_found":
              throw new UserError(
                `No customer matches "${customerRef}" (tried external id, e-mail and phone; an ambiguous e-mail or phone matches nobody).`,
              );
            case "customer_erased":
              throw new UserError("This customer's data was erased on request; they cannot be linked.");
            default:
              return assertUnreachable(result.error);
          }
        }
        console.log(result.value.link);
        console.error(
          `customer ${result.value.customerId}, valid until ${result.value.expiresAt.toISOString()}, one use`,
        );
      } finally {
        await ctx.close();
      }
    });
}
