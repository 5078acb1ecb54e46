// The Telegram stand-in answers getUpdates as Telegram does: a poll with a timeout is held until
// an update arrives, so a polling bot waits instead of asking again in a tight loop.
import { afterEach, describe, expect, it } from "vitest";
import type TelegramServer from "telegram-test-api";
import { emulatorUser, heldPolls, startEmulator } from "./test-harness";
import { until } from "../../test/helpers/wait";

const TOKEN = "3000:harness-token";

interface Polled {
  ok: boolean;
  result: { update_id: number; message?: { text?: string } }[];
}

function poll(server: TelegramServer, timeout: number): Promise<Polled> {
  return fetch(`${server.config.apiURL}/bot${TOKEN}/getUpdates`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ timeout }),
  }).then((r) => r.json() as Promise<Polled>);
}

let server: TelegramServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe("the Telegram emulator's getUpdates", () => {
  it("holds a poll with a timeout until an update arrives, and answers one without a timeout at once", async () => {
    server = await startEmulator();
    expect(await poll(server, 0)).toEqual({ ok: true, result: [] });

    let answered = false;
    const held = poll(server, 30).then((r) => ((answered = true), r));
    await until(() => heldPolls(server!) === 1, "the poll to be held");
    // Another request answered after that: the poll is still held.
    const me = await fetch(`${server.config.apiURL}/bot${TOKEN}/getMe`).then((r) => r.json());
    expect(me).toMatchObject({ ok: true });
    expect(answered).toBe(false);

    await emulatorUser(server, TOKEN, 41).text("hello");
    const polled = await held;
    expect(polled.result.map((u) => u.message?.text)).toEqual(["hello"]);
    expect(heldPolls(server)).toBe(0);
  });

  it("answers at once while an update is waiting, and answers a held poll when it stops", async () => {
    server = await startEmulator();
    await emulatorUser(server, TOKEN, 42).text("waiting");
    expect((await poll(server, 30)).result.map((u) => u.message?.text)).toEqual(["waiting"]);

    const held = poll(server, 30);
    await until(() => heldPolls(server!) === 1, "the poll to be held");
    await server.stop();
    server = undefined;
    expect(await held).toEqual({ ok: true, result: [] });
  });
});
