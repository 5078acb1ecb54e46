// Acting from the list: every at-risk row (a ⋯ menu, 20 rows a page with Next / Previous) and the
// customer card (buttons) send the best offer through the contact policy and the outbox, add the
// customer to a campaign through the campaign's rules (they may land in control), open the
// customer's ticket and assign an owner; every click is checked against the staff rule and a
// double click does the thing once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCampaign } from "../../core/campaigns/campaign";
import { assignmentHash } from "../../core/campaigns/plan";
import type { Database } from "../../core/db/client";
import { makeCustomer, makeCustomers, makeScoreRun } from "../../core/staff/test-fixtures";
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
  /** 22 more at-risk customers (churn 0.70-0.80), so the list runs over one page. */
  let more: { id: number }[];
  let campaignId = 0;
  let draftId = 0;
  let finishedId = 0;
  /** Of `more`: one the campaign's seeded draw puts in control, one in treatment. */
  let toControl: { id: number };
  let toTreatment: { id: number };

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
    more = await makeCustomers(db, 22, (i) => ({
      externalId: `AR-M${i}`,
      name: `More ${i}`,
      telegramChatId: BigInt(7_100 + i),
    }));
    await makeScoreRun(db, new Date("2026-11-19T00:00:00Z"), [
      { customerId: consenting.id, churnProbability: 0.91, segment: "At risk", clv: 400 },
      { customerId: noConsent.id, churnProbability: 0.88, segment: "At risk", clv: 300 },
      { customerId: inControl.id, churnProbability: 0.85, segment: "At risk", clv: 200 },
      ...more.map((c, i) => ({
        customerId: c.id,
        churnProbability: 0.8 - i * 0.004,
        segment: "Hibernating",
        clv: 500,
      })),
    ]);
    // A seed whose 50/50 draw puts more[0] in control and more[1] in treatment (recomputed as the planner does).
    let seed = "";
    for (let i = 0; !seed; i++)
      if (assignmentHash(`s${i}`, more[0]!.id) < 0.5 && assignmentHash(`s${i}`, more[1]!.id) >= 0.5) seed = `s${i}`;
    [toControl, toTreatment] = [more[0]!, more[1]!];
    const opts = { now: clock };
    const make = async (name: string, status: string, extra: { seed?: string } = {}) => {
      const created = await createCampaign(
        db,
        // Targeting that none of these customers matches: a staff member's choice replaces it.
        {
          name,
          offerKeys: ["winback-15"],
          controlShare: 0.5,
          exploreShare: 0,
          targeting: { segments: ["Champions"] },
          ...extra,
        },
        opts,
      );
      if (!created.ok) throw new Error(JSON.stringify(created.error));
      await db.prisma.campaign.update({ where: { id: created.value.id }, data: { status } });
      return created.value.id;
    };
    campaignId = await make("Spring save", "active", { seed });
    draftId = await make("Next month", "draft");
    finishedId = await make("Last year", "finished");
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
  /** Chooses `value` (`<action>|<customer>`) in an at-risk row's menu; returns what the clicker was told. */
  async function choose(value: string, user = STAFF_USER): Promise<string> {
    const before = h.slack.callsOf("chat.postEphemeral").length;
    const press = buttonPress("customer_row_menu", "", { user, channel: DM });
    await h.interaction({
      ...press,
      actions: [
        {
          type: "overflow",
          action_id: "customer_row_menu",
          block_id: "at_risk_row",
          selected_option: { text: { type: "plain_text", text: "x" }, value },
          action_ts: "1.2",
        },
      ],
    });
    return String((await h.slack.waitFor("chat.postEphemeral", before + 1))[before]!.body.text);
  }
  /** Submits the Add to campaign modal as `user`; returns what they were told. */
  async function submitCampaign(customerId: number, campaign: number, user = STAFF_USER): Promise<string> {
    const before = h.slack.callsOf("chat.postEphemeral").length;
    await h.interaction({
      type: "view_submission",
      team: { id: "T0001" },
      user: { id: user, team_id: "T0001" },
      api_app_id: "A0001",
      token: "legacy",
      trigger_id: "t.campaign",
      view: {
        id: "V2",
        type: "modal",
        callback_id: "customer_add_campaign_modal",
        private_metadata: JSON.stringify({ customerId, channel: DM }),
        state: {
          values: {
            campaign: {
              id: {
                type: "static_select",
                selected_option: { text: { type: "plain_text", text: "c" }, value: String(campaign) },
              },
            },
          },
        },
      },
    });
    const told = (await h.slack.waitFor("chat.postEphemeral", before + 1))[before]!.body;
    expect(told).toMatchObject({ channel: DM, user });
    return String(told.text);
  }
  const offersQueued = (customerId: number) =>
    db.prisma.outboxMessage.findMany({ where: { customerId, kind: "offer" } });

  it("puts the four actions in a menu on every at-risk row, 20 to a page with Next and Previous", async () => {
    const { reply } = await h.command("at-risk");
    const blocks = reply.blocks as { type: string; accessory?: { action_id: string; options: { value: string }[] } }[];
    const rows = blocks.filter((b) => b.accessory?.action_id === "customer_row_menu");
    expect(rows).toHaveLength(20);
    expect(blocks.length).toBeLessThanOrEqual(50);
    expect(rows[0]!.accessory!.options.map((o) => o.value)).toEqual([
      `customer_send_offer|${consenting.id}`,
      `customer_add_campaign|${consenting.id}`,
      `customer_assign|${consenting.id}`,
      `customer_open_ticket|${consenting.id}`,
    ]);
    expect(JSON.stringify(blocks)).toContain("25 customers match");
    const paging = blocks.find((b) => b.type === "actions") as unknown as {
      elements: { action_id: string; text: { text: string }; value: string }[];
    };
    expect(paging.elements.map((e) => e.text.text)).toEqual(["Next 5"]);

    // Next: the same list, rows 21-25, replacing the message in place.
    const before = h.slack.callsOf("response_url").length;
    const next = paging.elements[0]!;
    const press = buttonPress(next.action_id, next.value, { channel: DM });
    await h.interaction({ ...press, response_url: h.slack.responseUrl("page2") });
    const page2 = (await h.slack.waitFor("response_url", before + 1))[before]!.body;
    expect(page2.replace_original).toBe(true);
    const rows2 = (page2.blocks as typeof blocks).filter((b) => b.accessory?.action_id === "customer_row_menu");
    expect(rows2.map((r) => r.accessory!.options[0]!.value)).toEqual(
      more.slice(17).map((c) => `customer_send_offer|${c.id}`),
    );
    expect(JSON.stringify(page2.blocks)).toContain("Previous 20");

    // A row of the second page acts like the first: Assign to me on the 24th customer.
    const last = more[20]!;
    const told = await choose(`customer_assign|${last.id}`);
    expect(told).toContain("You now own this customer");
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: last.id } })).ownerSlackId).toBe(STAFF_USER);

    const card = JSON.stringify((await h.command("customer AR-1")).reply.blocks);
    for (const action of ["customer_send_offer", "customer_add_campaign", "customer_open_ticket", "customer_assign"])
      expect(card).toContain(`"action_id":"${action}"`);
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
    expect(
      await db.prisma.auditLog.count({ where: { action: "customer.owner_assigned", entityId: String(consenting.id) } }),
    ).toBe(1);

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

  it("Add to campaign: a modal of active and draft campaigns; the campaign's rules decide, once", async () => {
    // From the card's button: the modal lists the campaigns a customer can join.
    const opened = h.slack.callsOf("views.open").length;
    await h.interaction(buttonPress("customer_add_campaign", `customer:${toTreatment.id}`, { channel: DM }));
    const view = (await h.slack.waitFor("views.open", opened + 1))[opened]!.body.view as {
      callback_id: string;
      private_metadata: string;
      blocks: { element?: { options: { value: string; text: { text: string } }[] } }[];
    };
    expect(view.callback_id).toBe("customer_add_campaign_modal");
    expect(JSON.parse(view.private_metadata)).toEqual({ customerId: toTreatment.id, channel: DM });
    const options = view.blocks[0]!.element!.options;
    expect(options.map((o) => Number(o.value)).sort()).toEqual(expect.arrayContaining([campaignId, draftId]));
    expect(options.map((o) => Number(o.value))).not.toContain(finishedId);
    expect(options.find((o) => Number(o.value) === draftId)!.text.text).toContain("(draft)");

    // Treatment: the campaign's offer is queued through the outbox, with the assignment and an audit row.
    const joined = await submitCampaign(toTreatment.id, campaignId);
    expect(joined).toContain(`Added to campaign ${campaignId} (Spring save) in the treatment group`);
    expect(joined).toContain("15% off your next order");
    const again = await submitCampaign(toTreatment.id, campaignId);
    expect(again).toContain("Already in campaign");
    const treated = await db.prisma.campaignAssignment.findMany({ where: { campaignId, customerId: toTreatment.id } });
    expect(treated).toHaveLength(1);
    expect(treated[0]!.group).toBe("treatment");
    const queued = await db.prisma.outboxMessage.findMany({ where: { customerId: toTreatment.id, kind: "offer" } });
    expect(queued).toHaveLength(1);
    expect(queued[0]!).toMatchObject({
      idempotencyKey: `campaign:${campaignId}:customer:${toTreatment.id}:offer`,
      campaignId,
      status: "pending",
    });
    expect(
      await db.prisma.auditLog.findMany({
        where: { action: "campaign.customer_added", entityId: String(toTreatment.id) },
        select: { actor: true, details: true },
      }),
    ).toEqual([{ actor: `slack:${STAFF_USER}`, details: { campaignId, group: "treatment" } }]);
    // The campaign itself was not re-planned or re-scheduled by one customer.
    expect((await db.prisma.campaign.findUniqueOrThrow({ where: { id: campaignId } })).plannedAt).toBeNull();

    // Control: the same draw the planner makes; nothing is sent, and the clicker is told why.
    const opened2 = h.slack.callsOf("views.open").length;
    const rowMenu = buttonPress("customer_row_menu", "", { channel: DM });
    await h.interaction({
      ...rowMenu,
      actions: [
        {
          type: "overflow",
          action_id: "customer_row_menu",
          block_id: "at_risk_row",
          selected_option: { text: { type: "plain_text", text: "x" }, value: `customer_add_campaign|${toControl.id}` },
          action_ts: "1.3",
        },
      ],
    });
    await h.slack.waitFor("views.open", opened2 + 1);
    const control = await submitCampaign(toControl.id, campaignId);
    expect(control).toContain("control group");
    expect(control).toContain("Nothing was sent");
    expect(
      await db.prisma.campaignAssignment.findFirst({ where: { campaignId, customerId: toControl.id } }),
    ).toMatchObject({ group: "control" });
    expect(await offersQueued(toControl.id)).toHaveLength(0);
    expect(await submitCampaign(toControl.id, campaignId)).toContain("Already in campaign");

    // Not eligible: the contact policy's reason, and no assignment.
    expect(await submitCampaign(noConsent.id, campaignId)).toContain(
      "Not added: the customer has not agreed to receive offers",
    );
    expect(await db.prisma.campaignAssignment.count({ where: { campaignId, customerId: noConsent.id } })).toBe(0);
    // A campaign that finished takes nobody.
    expect(await submitCampaign(more[2]!.id, finishedId)).toContain("Not added: the campaign is finished");
    // Someone who is not staff changes nothing.
    expect(await submitCampaign(more[3]!.id, campaignId, "UOUTSIDER")).toBe(STAFF_ONLY_TEXT);
    expect(await db.prisma.campaignAssignment.count({ where: { campaignId, customerId: more[3]!.id } })).toBe(0);
    expect(await db.prisma.auditLog.count({ where: { action: "campaign.customer_added" } })).toBe(2);
  });
});
