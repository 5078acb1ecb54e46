// The stand-in's arrival times: with `stampArrivals`, a message is stamped when it reaches the
// stand-in even while this thread is too busy to read it, so a stall of the sender's own loop
// cannot bunch arrivals that were spaced.
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { startBotApiStandIn, type BotApiStandIn } from "./bot-api-stand-in";

let standIn: BotApiStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** Sends one sendMessage; resolves with the answer. */
function send(apiRoot: string, chatId: number): { answered: Promise<{ ok: boolean }> } {
  const request = http.request(`${apiRoot}/bot1:x/sendMessage`, {
    method: "POST",
    agent,
    headers: { "content-type": "application/json" },
  });
  const answered = new Promise<{ ok: boolean }>((resolve, reject) => {
    request.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as { ok: boolean }));
    });
    request.on("error", reject);
  });
  request.end(JSON.stringify({ chat_id: chatId, text: "hello" }));
  return { answered };
}

/** Keeps this thread busy, as a long query or a loaded machine does, for `ms`. */
function blockThread(ms: number): number {
  const until = Date.now() + ms;
  while (Date.now() < until);
  return Date.now();
}

describe("the Bot API stand-in's arrival times", () => {
  it("stamps a message when it arrives, though this thread reads it only after a stall", async () => {
    standIn = await startBotApiStandIn({ stampArrivals: true });
    // A first message opens the connection the second one is written to at once.
    expect(await send(standIn.apiRoot, 1).answered).toMatchObject({ ok: true });

    const sentAt = Date.now();
    const second = send(standIn.apiRoot, 2);
    const stallEnded = await new Promise<number>((resolve) => setImmediate(() => resolve(blockThread(1000))));
    expect(await second.answered).toMatchObject({ ok: true });

    const stamped = standIn.sends.find((s) => s.chatId === 2)!;
    expect(stamped.at).toBeGreaterThanOrEqual(sentAt);
    expect(stamped.at).toBeLessThan(stallEnded);
    expect(standIn.delivered().map((s) => s.chatId)).toEqual([1, 2]);
  });
});
