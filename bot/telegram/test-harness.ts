// Shared by the end-to-end tests and the benchmark: the Bot API emulator (telegram-test-api) on a
// free loopback port, with `sendDocument` added (the emulator lacks it; /mydata needs it), and
// helpers to wait for what the bot said to a chat.
import type { IncomingMessage } from "node:http";
import net from "node:net";
import TelegramServer from "telegram-test-api";
import { HANG_GUARD_MS } from "../../test/helpers/hang-guard";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

interface ExpressLike {
  use(handler: (req: IncomingMessage & { path: string; body: unknown }, res: unknown, next: () => void) => void): void;
  post(
    path: string,
    handler: (
      req: IncomingMessage & { params: Record<string, string> },
      res: { sendResult(data: unknown): void },
    ) => void,
  ): void;
  _router: { stack: unknown[] };
}

/** What the bot sent, as the emulator stored it. */
export interface BotMessage {
  message_id: number;
  chat_id: number | string;
  text: string;
  reply_markup?: {
    inline_keyboard?: { text: string; callback_data: string }[][];
    keyboard?: unknown;
    remove_keyboard?: boolean;
  };
  /** For documents: the uploaded file's content. */
  document?: string;
  caption?: string;
}

const callbackAnswerLog = new WeakMap<TelegramServer, { callback_query_id: string; text?: string }[]>();

/** Every answerCallbackQuery the bot made (the emulator itself keeps none). */
export function callbackAnswers(server: TelegramServer): { callback_query_id: string; text?: string }[] {
  return callbackAnswerLog.get(server) ?? [];
}

const heldPollsOf = new WeakMap<TelegramServer, Set<() => void>>();

/** How many getUpdates calls the emulator is holding now (waiting for an update). */
export function heldPolls(server: TelegramServer): number {
  return heldPollsOf.get(server)?.size ?? 0;
}

const USER_UPDATE_EVENTS = ["AddedUserMessage", "AddedUserCommand", "AddedUserCallbackQuery"] as const;

/**
 * getUpdates as Telegram answers it: with `timeout`, the request is held until an update for the
 * bot arrives or the timeout passes. The emulator's own answers at once, so every polling bot
 * asked again in a tight loop and kept its process and the emulator's busy for the whole test.
 * A poll whose client went away is not answered, so its updates stay for the next one; stopping
 * the emulator answers every held poll.
 */
function serveLongPolling(server: TelegramServer, app: ExpressLike): void {
  const held = new Set<() => void>();
  heldPollsOf.set(server, held);
  let stopping = false;
  const unread = (token: string) => server.storage.userMessages.some((u) => u.botToken === token && !u.isRead);
  app.post("/bot:token/getUpdates", (req, res) => {
    const token = req.params.token!;
    const answer = () => res.sendResult({ ok: true, result: server.getUpdates(token) });
    const seconds = Math.min(Number((req as unknown as { body?: { timeout?: unknown } }).body?.timeout) || 0, 50);
    if (stopping || seconds <= 0 || unread(token)) return answer();
    const settle = (reply: boolean) => {
      clearTimeout(timer);
      held.delete(release);
      for (const event of USER_UPDATE_EVENTS) server.off(event, onUpdate);
      (res as unknown as NodeJS.EventEmitter).off("close", onGone);
      if (reply) answer();
    };
    const release = () => settle(true);
    const onUpdate = () => {
      if (unread(token)) settle(true);
    };
    const onGone = () => settle(false);
    const timer = setTimeout(release, seconds * 1000);
    held.add(release);
    for (const event of USER_UPDATE_EVENTS) server.on(event, onUpdate);
    (res as unknown as NodeJS.EventEmitter).on("close", onGone);
  });
  const stop = server.stop.bind(server);
  server.stop = async () => {
    stopping = true;
    for (const release of [...held]) release();
    return stop();
  };
}

/** Starts the emulator with `sendDocument` support and long polling. */
export async function startEmulator(): Promise<TelegramServer> {
  const server = new TelegramServer({ port: await freePort(), host: "127.0.0.1", storeTimeout: 600 });
  const app = (server as unknown as { webServer: ExpressLike }).webServer;
  const emulators = new Set(app._router.stack);
  app.post("/bot:token/sendDocument", (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const field = (name: string) => new RegExp(`name="${name}"\\r\\n\\r\\n([\\s\\S]*?)\\r\\n--`).exec(body)?.[1];
      const file = /filename=[^\r]*\r\ncontent-type:[^\r]*\r\n\r\n([\s\S]*?)\r\n--/i.exec(body)?.[1];
      const result = server.addBotMessage(
        {
          chat_id: Number(field("chat_id")),
          text: field("caption") ?? "",
          caption: field("caption"),
          document: file,
        } as never,
        req.params.token!,
      );
      res.sendResult({ ok: true, result: { ...result, document: { file_id: "f1", file_unique_id: "u1" } } });
    });
  });
  serveLongPolling(server, app);
  const answers: { callback_query_id: string; text?: string }[] = [];
  callbackAnswerLog.set(server, answers);
  app.use((req, _res, next) => {
    if (req.path.endsWith("/answerCallbackQuery"))
      answers.push(req.body as { callback_query_id: string; text?: string });
    next();
  });
  // Routes are matched in order and the emulator's catch-all "unknown method" and its own
  // getUpdates come first: move ours up.
  const stack = app._router.stack;
  const ours = stack.filter((layer) => !emulators.has(layer) && (layer as { route?: unknown }).route);
  const logger = stack.pop();
  const rest = stack.filter((layer) => !ours.includes(layer));
  const firstRoute = rest.findIndex((l) => (l as { route?: unknown }).route);
  rest.splice(firstRoute, 0, logger, ...ours);
  stack.splice(0, stack.length, ...rest);
  await server.start();
  // Keep idle connections open longer than any client waits between calls: with Node's default
  // 5 s, a client reusing a socket the server is just closing gets ECONNRESET, and the
  // emulator (which marks updates read when it answers getUpdates) may then lose updates.
  const http = (server as unknown as { server: { keepAliveTimeout: number; headersTimeout: number } }).server;
  http.keepAliveTimeout = 120_000;
  http.headersTimeout = 121_000;
  return server;
}

export function botMessages(server: TelegramServer, token: string, chatId: number): BotMessage[] {
  return server.storage.botMessages
    .filter((m) => m.botToken === token && Number((m.message as { chat_id: number | string }).chat_id) === chatId)
    .map((m) => ({ ...(m.message as unknown as BotMessage), message_id: m.messageId }));
}

/** Waits until the bot has sent at least `count` messages to the chat in total. */
export async function waitForMessages(
  server: TelegramServer,
  token: string,
  chatId: number,
  count: number,
  timeoutMs = HANG_GUARD_MS,
): Promise<BotMessage[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages = botMessages(server, token, chatId);
    if (messages.length >= count) return messages;
    if (Date.now() > deadline)
      throw new Error(
        `expected ${count} bot messages to chat ${chatId}, got ${messages.length}: ${JSON.stringify(messages.map((m) => m.text.slice(0, 80)))}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The callback data of every inline button of a message. */
export function buttons(message: BotMessage | undefined): { text: string; data: string }[] {
  return (message?.reply_markup?.inline_keyboard ?? []).flat().map((b) => ({ text: b.text, data: b.callback_data }));
}

/** A customer's Telegram account on the emulator: sends commands, texts and button presses. */
export function emulatorUser(
  server: TelegramServer,
  token: string,
  chatId: number,
  options: { locale?: string; chatType?: "private" | "group" } = {},
) {
  const c = server.getClient(token, {
    userId: chatId,
    chatId,
    firstName: "Anna",
    userName: `anna${chatId}`,
    type: options.chatType ?? "private",
  });
  const from = {
    id: chatId,
    first_name: "Anna",
    username: `anna${chatId}`,
    is_bot: false,
    language_code: options.locale ?? "en",
  };
  return {
    chatId,
    command: (text: string) => c.sendCommand(c.makeCommand(text, { from })),
    text: (text: string, extra: object = {}) => c.sendMessage(c.makeMessage(text, { from, ...extra })),
    press: (data: string, messageId: number) =>
      c.sendCallback(c.makeCallbackQuery(data, { from, message: { message_id: messageId } })),
  };
}
