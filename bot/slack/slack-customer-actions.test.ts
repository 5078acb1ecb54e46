// Acting from the list: the at-risk answer and the customer card carry buttons that send the best
// offer through the contact policy and the outbox, open the customer's ticket and assign an owner;
// every click is checked against the staff rule and a double click does the thing once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../core/db/client";
import { makeCustomer, makeScoreRun } from "../../core/staff/test-fixtures";
import { openTicket } from "../../core/tickets/tickets";
import { createTestDatabase } from "../../test/helpers/db";
import { STAFF_ONLY_TEXT } from "./staff-guard";
import { buttonPress, STAFF_USER, startSlackHarness, type SlackHarness } from "./testing/harness";

const clock = new Date("2026-11-20T12:00:00Z");
const now = () => clock;
const DM = "DDM1";

describe("buttons on at-risk rows and customer cards [pglite]", () => {
  let db: Database;
  let h: SlackHarness;
  let consenting: { id: number };
  let noConsent: { id: number };
  let inControl: { id: number };

  beforeAll(async () => {
    db = await createTestDatabase("pglite");
    h = await startSlackHarness({ db, now });
    await db.prisma.offer.create({
      data: { key: "winback-15", title: "15% off your next order", kind: "percent_off", value: 15, cost: 4 },
    });
    await db.prisma.offer.create({
      data: { key: "tiny", title: "Free sticker", kind: "gift", value: 1, cost: 1, saveProbability: 0.01 },
    });
    consenting = await makeCustomer(db, { externalId: "AR-1", name: "Mia Consent", telegramChatId: 7_001n });
    noConsent = await makeCustomer(db, {
      externalId: "AR-2",
      name: "Noah Nope",
      telegramChatId: 7_002n,
      marketingConsent: false,
    });
    inControl = await makeCustomer(db, { externalId: "AR-3", name: "Cora Control", telegramChatId: 7_003n });
    await makeScoreRun(db, new Date("2026-11-19T00:00:00Z"), [
      { customerId: consenting.id, churnProbability: 0.91, segment: "At risk", clv: 400 },
      { customerId: noConsent.id, churnProbability: 0.88, segment: "At risk", clv: 300 },
      { customerId: inControl.id, churnProbability: 0.85, segment: "At risk", clv: 200 },
    ]);
    const campaign = await db.prisma.campaign.create({ data: { name: "Winback", status: "active" } });
    await db.prisma.campaignAssignment.create({
      data: { campaignId: campaign.id, customerId: inControl.id, group: "control" },
    });
  });
  afterAll(async () => {
    await h?.close();
    await db?.close();
  });

  /** Clicks `action` for a customer in the DM and returns what the app told the clicker. */
  async function click(action: string, customerId: number, user = STAFF_USER): Promise<string> {
    const before = h.slack.callsOf("chat.postEphemeral").length;
    await h.interaction(buttonPress(action, `customer:${customerId}`, { user, channel: DM }));
    const told = (await h.slack.waitFor("chat.postEphemeral", before + 1))[before]!.body;
    expect(told).toMatchObject({ channel: DM, user });
    return String(told.text);
  }
  const offersQueued = (customerId: number) =>
    db.prisma.outboxMessage.findMany({ where: { customerId, kind: "offer" } });

  it("puts the three buttons on each at-risk row and on the customer card", async () => {
    const list = JSON.stringify((await h.command("at-risk")).reply.blocks);
    for (const action of ["customer_send_offer", "customer_open_ticket", "customer_assign"])
      expect(list).toContain(`"action_id":"${action}"`);
    for (const c of [consenting, noConsent, inControl]) expect(list).toContain(`"value":"customer:${c.id}"`);
    const card = JSON.stringify((await h.command("customer AR-1")).reply.blocks);
    expect(card).toContain('"action_id":"customer_send_offer"');
    expect(card).toContain(`"value":"customer:${consenting.id}"`);
  });

  it("Send best offer queues exactly one outbox row for a consenting customer, even on a double click", async () => {
    const first = await click("customer_send_offer", consenting.id);
    expect(first).toContain("Queued the best offer (15% off your next order)");
    const second = await click("customer_send_offer", consenting.id);
    expect(second).toContain("already queued");
    const rows = await offersQueued(consenting.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "pending", campaignId: null });
    const payload = rows[0]!.payload as { offerKey: string; code: string; offerIssueId: number };
    expect(payload.offerKey).toBe("winback-15"); // the higher expected value of the two
    const issue = await db.prisma.offerIssue.findUniqueOrThrow({ where: { id: payload.offerIssueId } });
    expect(issue).toMatchObject({ customerId: consenting.id, code: payload.code, status: "issued" });
    expect(await db.prisma.offerIssue.count({ where: { customerId: consenting.id } })).toBe(1);
  });

  it("refuses a customer without marketing consent, and one in a control group, with the reason", async () => {
    expect(await click("customer_send_offer", noConsent.id)).toContain("no marketing consent");
    expect(await offersQueued(noConsent.id)).toHaveLength(0);
    const control = await click("customer_send_offer", inControl.id);
    expect(control).toContain("control group of campaign");
    expect(await offersQueued(inControl.id)).toHaveLength(0);
  });

  it("refuses a click by someone who is not staff", async () => {
    const told = await click("customer_send_offer", noConsent.id, "UOUTSIDER");
    expect(told).toBe(STAFF_ONLY_TEXT);
    expect(await click("customer_assign", noConsent.id, "UOUTSIDER")).toBe(STAFF_ONLY_TEXT);
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: noConsent.id } })).ownerSlackId).toBeNull();
    expect(await offersQueued(noConsent.id)).toHaveLength(0);
  });

  it("Assign to me sets the owner once; Open ticket links the customer's ticket thread", async () => {
    expect(await click("customer_assign", consenting.id)).toContain("You now own this customer");
    expect(await click("customer_assign", consenting.id)).toContain("You already own this customer");
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: consenting.id } })).ownerSlackId).toBe(
      STAFF_USER,
    );
    expect(await db.prisma.auditLog.count({ where: { action: "customer.owner_assigned" } })).toBe(1);

    expect(await click("customer_open_ticket", consenting.id)).toBe("This customer has no open ticket.");
    const { reference } = await openTicket(db, {
      customerId: consenting.id,
      source: "complaint",
      text: "Late again",
      now: clock,
    });
    await h.parts.desk.pollOnce();
    const told = await click("customer_open_ticket", consenting.id);
    expect(told).toContain(reference);
    expect(h.slack.callsOf("chat.getPermalink").at(-1)!.body).toMatchObject({ channel: "CTICKETS" });
  });
});
