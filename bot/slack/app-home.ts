// The app's Home tab: on app_home_opened the view is published for the one who opened it. Staff
// see the at-risk count and its movement, open tickets by age and the NPS trend; anyone else
// sees one paragraph saying the app is for the retention team.
import type { App } from "@slack/bolt";
import type { KnownBlock } from "@slack/types";
import { staffHome, type StaffHome } from "../../core/staff/home";
import { context, header, section } from "./blocks";
import type { SlackDeps } from "./deps";
import { STAFF_ONLY_TEXT } from "./staff-guard";

const signed = (n: number) => (n > 0 ? `+${n}` : `${n}`);

/** The Home tab's blocks for staff. Numbers only: no customer is named. */
export function homeBlocks(home: StaffHome, riskHigh: number): KnownBlock[] {
  const { current, previous, asOf } = home.atRisk;
  const atRisk =
    current === null
      ? "No scores yet: run `retention score` first."
      : `*${current}* customers at high risk (churn ≥ ${Math.round(riskHigh * 100)}%)` +
        (previous === null
          ? ", the first scoring run"
          : `, ${signed(current - previous)} since the previous run (${previous})`) +
        (asOf ? ` · scored ${asOf.toISOString().slice(0, 10)}` : "");
  const t = home.openTickets;
  const tickets = `*${t.underHour + t.underDay + t.older}* open tickets: *${t.underHour}* under 1 hour old, *${t.underDay}* under 24 hours, *${t.older}* older`;
  const weeks = home.npsWeeks
    .map(
      (w) =>
        `• week of ${w.weekStart.toISOString().slice(0, 10)}: ${w.nps === null ? "no answers" : `NPS ${w.nps.toFixed(1)} from ${w.answers} answer${w.answers === 1 ? "" : "s"}`}`,
    )
    .join("\n");
  return [
    header("Retention desk"),
    section(`*At risk*\n${atRisk}`),
    section(`*Tickets*\n${tickets}`),
    section(`*NPS by week*\n${weeks}`),
    context("`/retention at-risk` lists the customers with buttons to act; `/retention status` checks the desk."),
  ];
}

export function registerAppHome(app: App, deps: SlackDeps): void {
  app.event("app_home_opened", async ({ event, client }) => {
    if (event.tab !== "home") return;
    const decision = await deps.guard.check(event.user);
    const blocks: KnownBlock[] = decision.allowed
      ? homeBlocks(
          await staffHome(deps.db, { now: deps.now(), riskHigh: deps.config.analytics.riskHigh }),
          deps.config.analytics.riskHigh,
        )
      : [section(STAFF_ONLY_TEXT)];
    await client.views.publish({ user_id: event.user, view: { type: "home", blocks } });
  });
}
