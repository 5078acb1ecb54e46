// Block Kit for staff replies. Pure functions from core results to Slack blocks.
import type { KnownBlock } from "@slack/types";
import type { RetentionMetrics } from "../../core/analytics/metrics";
import type { CampaignReport, LiftReport, PolicyReport } from "../../core/campaigns/report";
import type { AtRiskList } from "../../core/staff/at-risk";
import type { CustomerProfile } from "../../core/staff/customer-profile";
import type { SegmentOverview } from "../../core/staff/segments";
import { formatDuration, type TicketCard } from "../../core/staff/ticket-desk";
import { esc } from "./safe-text";

const TEXT_LIMIT = 2900; // Slack's section text limit is 3000

export const HELP_TEXT = [
  "*`/retention` commands* (staff only)",
  "• `at-risk [segment] [--min-risk 0.7] [--limit 50] [--by clv]`: customers we could lose, 20 to a page (`--limit` for fewer), each row's ⋯ menu to act, the full list as CSV",
  "• `customer <external id | email | phone>`: profile card: risk and reasons, CLV, purchases, feedback, tickets, offers, consent",
  "• `segments`: segment sizes and movement since the previous scoring run",
  "• `metrics [30d | 12w | this-month | last-month | 2026-10 | 2026 | 2026-09-01..2026-10-01] [--segment At risk]` (segment names in any case): NPS, churn rate, activity rate, LTV, AOV, repeat rate",
  "• `campaign [id]`: lift against control with a confidence interval, and ROI (no id: the list)",
  "• `link <customer>`: a Telegram deep link that connects the customer's chat",
  "• `status`: whether new tickets reach Slack, and how many staff alerts are waiting",
  "Or mention me / write to me directly with a question, e.g. _how many Champions are at high risk this month?_",
].join("\n");

export const section = (text: string): KnownBlock => ({
  type: "section",
  text: { type: "mrkdwn", text: text.slice(0, TEXT_LIMIT) },
});
export const context = (text: string): KnownBlock => ({
  type: "context",
  elements: [{ type: "mrkdwn", text: text.slice(0, TEXT_LIMIT) }],
});
export const header = (text: string): KnownBlock => ({
  type: "header",
  text: { type: "plain_text", text: text.slice(0, 150) },
});

export const pct = (p: number | null | undefined, digits = 0) =>
  p === null || p === undefined ? "n/a" : `${(p * 100).toFixed(digits)}%`;
export const money = (v: number | null | undefined, currency: string) =>
  v === null || v === undefined ? "n/a" : `${currency} ${v.toLocaleString("en-US", { maximumFractionDigits: 0 })}`;
const day = (d: Date | null | undefined) => (d ? d.toISOString().slice(0, 10) : "n/a");
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** A p-value as a reader expects it: "p < 0.001" rather than "p = 0.000". */
export function formatP(p: number): string {
  return p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`;
}

/** At most `n` characters, cut at a word boundary (never inside a number or a word) with "…". */
export function cutAtWord(s: string, n: number): string {
  if (s.length <= n) return s;
  const head = s.slice(0, n - 1);
  const space = head.search(/\s\S*$/);
  return `${(space > 0 ? head.slice(0, space) : head).replace(/[\s,;:.]+$/, "")}…`;
}

/**
 * Reasons for a narrow table cell: whole reasons while they fit, then "+N more"; a first reason
 * too long on its own is cut at a word. Never "no purchase for 49…" for 498 days.
 */
export function reasonsCell(reasons: string[], n: number): string {
  if (reasons.length === 0) return "-";
  const shown: string[] = [];
  for (const [i, reason] of reasons.entries()) {
    const more = reasons.length - i - 1;
    const candidate = [...shown, reason].join("; ") + (more > 0 ? ` +${more}` : "");
    if (candidate.length > n) break;
    shown.push(reason);
  }
  if (shown.length === 0) {
    const more = reasons.length - 1;
    const suffix = more > 0 ? ` +${more}` : "";
    return cutAtWord(reasons[0]!, n - suffix.length) + suffix;
  }
  const rest = reasons.length - shown.length;
  return shown.join("; ") + (rest > 0 ? ` +${rest}` : "");
}

/** The card shows this much of the customer's first message; the rest is one click away. */
export const CARD_OPENING_CHARS = 1200;
/** Slack mrkdwn escaping for text we did not write (names, customers' words): see safe-text.ts. */
export { esc };

/** Fixed-width table inside code blocks, split so no block passes Slack's text limit. */
export function codeTable(head: string[], rows: string[][]): KnownBlock[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const lines = rows.map(line);
  const blocks: KnownBlock[] = [];
  let chunk = [line(head)];
  for (const l of lines) {
    if ([...chunk, l].join("\n").length > TEXT_LIMIT - 10) {
      blocks.push(section("```" + chunk.join("\n") + "```"));
      chunk = [];
    }
    chunk.push(l);
  }
  blocks.push(section("```" + chunk.join("\n") + "```"));
  return blocks;
}

/** At-risk rows per message: one section each, inside Slack's 50 blocks with room to spare. */
export const AT_RISK_PAGE_SIZE = 20;

/** The customer actions, as `action_id` and label, on card buttons and in each row's menu. */
export const CUSTOMER_ACTIONS = [
  ["customer_send_offer", "Send best offer"],
  ["customer_add_campaign", "Add to campaign"],
  ["customer_assign", "Assign to me"],
  ["customer_open_ticket", "Open ticket"],
] as const;
export type CustomerActionId = (typeof CUSTOMER_ACTIONS)[number][0];

/** The at-risk list's row menu: each option's value is `<action_id>|<customer id>`. */
export const CUSTOMER_ROW_MENU = "customer_row_menu";
/** The at-risk list's paging buttons; the value is an `AtRiskPage` as JSON. */
export const AT_RISK_PAGE = "at_risk_page";

/** Which page of which at-risk list a paging button shows. */
export interface AtRiskPage {
  segment?: string;
  minRisk: number;
  orderBy?: "risk" | "clv";
  offset: number;
  pageSize: number;
}

/** "Send best offer", "Add to campaign", "Assign to me", "Open ticket" for one customer (value `customer:<id>`). */
export function customerActions(customerId: number): KnownBlock {
  return {
    type: "actions",
    block_id: `customer_actions:${customerId}`,
    elements: CUSTOMER_ACTIONS.map(([action_id, text], i) => ({
      type: "button" as const,
      action_id,
      text: { type: "plain_text" as const, text },
      value: `customer:${customerId}`,
      ...(i === 0 ? { style: "primary" as const } : {}),
    })),
  };
}

/**
 * One page of the at-risk list: a section per customer with a menu of the customer actions, and
 * Previous / Next buttons when the list is longer than the page. `list` holds the page's rows.
 */
export function atRiskBlocks(list: AtRiskList, page: AtRiskPage, currency: string): KnownBlock[] {
  const title = `Customers at risk${page.segment ? ` in ${page.segment}` : ""} (churn ≥ ${pct(page.minRisk)})`;
  if (!list.asOf) return [header(title), section("No scores yet: run `retention score` first.")];
  if (list.total === 0) return [header(title), section(`No customers match (scored ${day(list.asOf)}).`)];
  const first = page.offset + 1;
  const last = page.offset + list.rows.length;
  const rows: KnownBlock[] = list.rows.map((r) => ({
    type: "section",
    block_id: `at_risk_row:${r.customerId}`,
    text: {
      type: "mrkdwn",
      text:
        `*${esc(cut(r.name ?? r.externalId, 60))}* · ${esc(r.externalId)} · *${pct(r.churnProbability)}* · ` +
        `CLV ${money(r.clv, currency)} · last purchase ${day(r.lastPurchaseAt)} · ${esc(r.segment)}\n` +
        esc(
          reasonsCell(
            r.reasons.map((x) => x.text),
            300,
          ),
        ),
    },
    accessory: {
      type: "overflow",
      action_id: CUSTOMER_ROW_MENU,
      options: CUSTOMER_ACTIONS.map(([action, text]) => ({
        text: { type: "plain_text" as const, text },
        value: `${action}|${r.customerId}`,
      })),
    },
  }));
  const paging = [
    ...(page.offset > 0
      ? [{ label: `Previous ${page.pageSize}`, offset: Math.max(0, page.offset - page.pageSize) }]
      : []),
    ...(last < list.total ? [{ label: `Next ${Math.min(page.pageSize, list.total - last)}`, offset: last }] : []),
  ];
  return [
    header(title),
    context(
      `${list.total} customers match · scored ${day(list.asOf)} · showing ${first}-${last}; the full list is in the attached CSV · ⋯ on a row to act`,
    ),
    ...rows,
    ...(paging.length
      ? [
          {
            type: "actions" as const,
            block_id: "at_risk_paging",
            elements: paging.map((p) => ({
              type: "button" as const,
              action_id: `${AT_RISK_PAGE}:${p.offset}`,
              text: { type: "plain_text" as const, text: p.label },
              value: JSON.stringify({ ...page, offset: p.offset } satisfies AtRiskPage),
            })),
          },
        ]
      : []),
  ];
}

export function customerBlocks(p: CustomerProfile, currency: string): KnownBlock[] {
  const s = p.score;
  const blocks: KnownBlock[] = [
    header(`${p.name ?? "Customer"} · ${p.externalId}`),
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: `*Churn risk*\n${s ? `${pct(s.churnProbability, 1)} (${s.riskBand})` : "not scored"}` },
        { type: "mrkdwn", text: `*CLV*\n${money(s?.clv, currency)}` },
        { type: "mrkdwn", text: `*Segment*\n${s?.segment ?? "n/a"}` },
        { type: "mrkdwn", text: `*P(alive)*\n${pct(s?.pAlive, 1)}` },
        {
          type: "mrkdwn",
          text: `*Purchases*\n${p.purchases.count} · ${money(p.purchases.total, currency)} · last ${day(p.purchases.lastAt)}`,
        },
        {
          type: "mrkdwn",
          text: `*Consent*\n${p.consent.marketing ? "marketing ok" : `opted out ${day(p.consent.optedOutAt)}`} · Telegram ${p.consent.telegramLinked ? (p.consent.unreachable ? "blocked" : "linked") : "not linked"}`,
        },
        { type: "mrkdwn", text: `*Contact*\n${esc(p.email ?? "no e-mail")} · ${esc(p.phone ?? "no phone")}` },
      ],
    },
  ];
  if (s?.reasons.length) blocks.push(section(`*Why*\n${s.reasons.map((r) => `• ${esc(r.text)}`).join("\n")}`));
  if (p.purchases.recent.length)
    blocks.push(
      section(
        `*Recent purchases*\n${p.purchases.recent.map((x) => `• ${day(x.at)} ${money(x.amount, currency)}${x.category ? ` ${esc(x.category)}` : ""}`).join("\n")}`,
      ),
    );
  if (p.feedback.length)
    blocks.push(
      section(
        `*Feedback*\n${p.feedback.map((f) => `• ${day(f.at)} ${f.kind}${f.score !== null ? ` ${f.score}` : ""}${f.comment ? `: “${esc(cut(f.comment, 140))}”` : ""}`).join("\n")}`,
      ),
    );
  if (p.tickets.length)
    blocks.push(
      section(
        `*Tickets*\n${p.tickets.map((t) => `• ${t.reference} ${t.status}${t.subject ? `: ${esc(cut(t.subject, 80))}` : ""} (${day(t.createdAt)})`).join("\n")}`,
      ),
    );
  if (p.offers.length)
    blocks.push(
      section(`*Offers*\n${p.offers.map((o) => `• ${esc(o.title)} · ${o.status} · ${day(o.issuedAt)}`).join("\n")}`),
    );
  if (s) blocks.push(context(`Scored ${day(s.asOf)}`));
  blocks.push(customerActions(p.id));
  return blocks;
}

export function segmentBlocks(o: SegmentOverview, currency: string): KnownBlock[] {
  if (!o.asOf) return [header("Segments"), section("No scores yet: run `retention score` first.")];
  const rows = o.segments.map((s) => {
    const delta = s.previous === null ? "" : s.customers - s.previous;
    return [
      s.segment,
      String(s.customers),
      s.previous === null ? "-" : String(s.previous),
      delta === "" ? "-" : `${delta > 0 ? "+" : ""}${delta}`,
      String(s.highRisk),
      pct(s.avgChurnProbability),
      money(s.totalClv, currency),
    ];
  });
  const blocks = [
    header(`Segments · scored ${day(o.asOf)}`),
    ...codeTable(["Segment", "Now", "Before", "Δ", "High risk", "Avg risk", "CLV"], rows),
  ];
  const h = o.highRisk;
  blocks.push(
    section(
      h.previous === null
        ? `*High risk:* ${h.current} customers (no previous run to compare)`
        : `*High risk:* ${h.current} (was ${h.previous} on ${day(o.previousAsOf)}) · ${h.newlyHigh} newly high · ${h.noLongerHigh} no longer high`,
    ),
  );
  if (o.moves.length)
    blocks.push(
      section(
        `*Biggest moves*\n${o.moves
          .slice(0, 8)
          .map((m) => `• ${m.from} → ${m.to}: ${m.customers}`)
          .join("\n")}`,
      ),
    );
  return blocks;
}

export function ticketBlocks(t: TicketCard, currency: string, now: Date): KnownBlock[] {
  const c = t.customer;
  const status =
    t.status === "resolved"
      ? `:white_check_mark: resolved ${day(t.resolvedAt)}`
      : t.status === "open"
        ? ":red_circle: open"
        : `:large_yellow_circle: ${t.status}`;
  const firstResponse = t.firstResponseAt
    ? formatDuration(t.firstResponseAt.getTime() - t.createdAt.getTime())
    : `none yet (waiting ${formatDuration(now.getTime() - t.createdAt.getTime())})`;
  const blocks: KnownBlock[] = [
    header(`${t.source === "nps_detractor" ? "Detractor" : "Complaint"} ${t.reference}`),
    section(
      t.opening ? `>${esc(cutAtWord(t.opening, CARD_OPENING_CHARS)).replace(/\n/g, "\n>")}` : "_no message text_",
    ),
    {
      type: "section",
      fields: [
        { type: "mrkdwn", text: `*Customer*\n${c ? `${esc(c.name ?? "unnamed")} · ${esc(c.externalId)}` : "unknown"}` },
        {
          type: "mrkdwn",
          text: `*Risk / segment*\n${c ? `${pct(c.churnProbability)} ${c.riskBand ?? ""} · ${c.segment ?? "n/a"}` : "n/a"}`,
        },
        {
          type: "mrkdwn",
          text: `*CLV · last NPS*\n${c ? `${money(c.clv, currency)} · ${c.lastNps ?? "n/a"}` : "n/a"}`,
        },
        { type: "mrkdwn", text: `*Status*\n${status}` },
        { type: "mrkdwn", text: `*Assignee*\n${t.assigneeSlackId ? `<@${t.assigneeSlackId}>` : "nobody"}` },
        { type: "mrkdwn", text: `*First response*\n${firstResponse}` },
      ],
    },
  ];
  if (t.csatScore !== null) blocks.push(context(`CSAT: ${t.csatScore}/5`));
  if (t.status !== "resolved") {
    blocks.push({
      type: "actions",
      block_id: `ticket:${t.id}`,
      elements: [
        {
          type: "button",
          action_id: "ticket_reply",
          text: { type: "plain_text", text: "Reply" },
          value: String(t.id),
          style: "primary",
        },
        ...(t.opening && t.opening.length > CARD_OPENING_CHARS
          ? [
              {
                type: "button" as const,
                action_id: "ticket_full_text",
                text: { type: "plain_text" as const, text: "Full text" },
                value: String(t.id),
              },
            ]
          : []),
        {
          type: "button",
          action_id: "ticket_resolve",
          text: { type: "plain_text", text: "Resolve" },
          value: String(t.id),
        },
        {
          type: "button",
          action_id: "ticket_assign",
          text: { type: "plain_text", text: "Assign to me" },
          value: String(t.id),
        },
      ],
    });
    blocks.push(
      context("Reply in this thread to answer the customer on Telegram; start with `note:` for an internal note."),
    );
  }
  return blocks;
}

export function ticketSummaryText(t: TicketCard): string {
  return `${t.reference} (${t.status})${t.customer ? ` from ${esc(t.customer.name ?? t.customer.externalId)}` : ""}`;
}

const num = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined || !Number.isFinite(v) ? "n/a" : v.toFixed(digits);

export function metricsBlocks(title: string, m: RetentionMetrics, currency: string): KnownBlock[] {
  const n = m.nps;
  return [
    header(title),
    {
      type: "section",
      fields: [
        {
          type: "mrkdwn",
          text: `*NPS*\n${num(n.nps)} (${n.respondents} answers: ${n.promoters} promoters, ${n.passives} passives, ${n.detractors} detractors)`,
        },
        {
          type: "mrkdwn",
          text: `*Churn rate*\n${pct(m.churnRate, 1)} (${m.lost} lost of ${m.customersAtStart} at start)`,
        },
        {
          type: "mrkdwn",
          text: `*Activity rate*\n${pct(m.activityRate, 1)} (${m.active90} of ${m.members} bought in 90 days)`,
        },
        {
          type: "mrkdwn",
          text: `*LTV*\n${money(m.ltv, currency)} (lifetime ${num(m.expectedLifetimePeriods)} periods, margin ${pct(m.grossMargin)})`,
        },
        {
          type: "mrkdwn",
          text: `*AOV*\n${m.aov === null ? "n/a" : `${currency} ${m.aov.toFixed(2)}`} (${m.purchases} purchases, ${money(m.revenue, currency)})`,
        },
        {
          type: "mrkdwn",
          text: `*Repeat rate*\n${pct(m.repeatPurchaseRate, 1)} (${m.repeatBuyers} of ${m.buyers} buyers)`,
        },
      ],
    },
    context(
      `${day(m.from)} to ${day(m.to)} (exclusive) · ${m.periodDays} days${m.segment ? ` · segment ${m.segment}` : ""}`,
    ),
  ];
}

function liftLine(label: string, l: LiftReport, currency: string): string {
  const r = l.retentionLift;
  return (
    `*${label}*: treated ${l.treatment.customers} (delivered ${l.delivered}) vs control ${l.control.customers}; ` +
    `retention ${pct(l.treatment.retentionRate, 1)} vs ${pct(l.control.retentionRate, 1)}, ` +
    `lift ${pct(r.estimate, 1)} [95% CI ${pct(r.low, 1)} to ${pct(r.high, 1)}]${r.pValue !== null ? `, ${formatP(r.pValue)}` : ""}; ` +
    `incremental revenue ${money(l.incrementalRevenue, currency)}, cost ${money(l.cost, currency)}, ROI ${l.roi === null ? "n/a" : l.roi.toFixed(2)}`
  );
}

/** What the targeting policy expected beside what the control group measured, and the offer mix per planning run. */
function policyText(p: PolicyReport, currency: string): string {
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;
  const r = p.realisedRetained;
  const rounds = p.rounds.slice(-5).map((round) => {
    const mix = Object.entries(round.offerMix)
      .sort((a, b) => b[1] - a[1])
      .map(([offer, n]) => `${esc(offer)} ${n}`)
      .join(", ");
    return `• ${day(round.plannedAt)}: ${round.treated} treated (${round.explored} exploring), expected ${signed(round.expectedRetained)}; offers ${mix || "none"}`;
  });
  return [
    `*Targeting policy*: expected ${signed(p.expectedRetained)} customers retained (value ${money(p.expectedValue, currency)}); ` +
      `realised ${signed(r.estimate)} [95% CI ${r.low.toFixed(1)} to ${r.high.toFixed(1)}] (value ${money(p.realisedValue, currency)}, incremental margin minus redeemed cost)`,
    ...rounds,
  ].join("\n");
}

export function campaignBlocks(r: CampaignReport, currency: string): KnownBlock[] {
  const blocks: KnownBlock[] = [
    header(`Campaign ${r.campaignId}: ${r.name}`.slice(0, 150)),
    section(liftLine("Overall", r.overall, currency)),
  ];
  const bands = Object.entries(r.byRiskBand);
  if (bands.length) blocks.push(section(bands.map(([band, l]) => liftLine(band, l, currency)).join("\n")));
  if (r.policy.rounds.length) blocks.push(section(policyText(r.policy, currency)));
  blocks.push(
    context(
      `Window ${day(r.window.from)} to ${day(r.window.to)}${r.window.complete ? "" : " (still open)"} · NPV ${money(r.value.npv, currency)} over ${r.value.horizonMonths} months · payback ${r.value.paybackMonths === null ? "beyond the horizon" : `${r.value.paybackMonths.toFixed(1)} months`}`,
    ),
  );
  return blocks;
}
