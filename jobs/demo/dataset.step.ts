import type { DemoStep } from "./demo-step";

/** Summarises the synthetic retailer that was just generated. */
export const datasetStep: DemoStep = {
  title: "The synthetic retailer",
  async run(ctx) {
    const [row] = await ctx.db.prisma.$queryRaw<
      {
        customers: number;
        purchases: number;
        revenue: number;
        linked: number;
        opted_out: number;
        first: Date;
        last: Date;
      }[]
    >`SELECT (SELECT count(*)::int FROM customers) AS customers,
             count(*)::int AS purchases, coalesce(sum(amount), 0)::float8 AS revenue,
             (SELECT count(*)::int FROM customers WHERE telegram_chat_id IS NOT NULL) AS linked,
             (SELECT count(*)::int FROM customers WHERE NOT marketing_consent) AS opted_out,
             min(purchased_at) AS first, max(purchased_at) AS last
      FROM purchases`;
    const feedback = await ctx.db.prisma.$queryRaw<{ kind: string; n: number }[]>`
      SELECT kind, count(*)::int AS n FROM feedback GROUP BY kind ORDER BY kind`;
    const tickets = await ctx.db.prisma.ticket.count({ where: { status: "open" } });
    if (!row) return;
    const day = (d: Date) => d.toISOString().slice(0, 10);
    ctx.print(
      `customers ${row.customers.toLocaleString("en")}, purchases ${row.purchases.toLocaleString("en")} (${day(row.first)} .. ${day(row.last)}), revenue ${Math.round(row.revenue).toLocaleString("en")} ${ctx.config.business.currency}`,
    );
    ctx.print(`linked to Telegram ${row.linked}, opted out of marketing ${row.opted_out}`);
    ctx.print(`feedback: ${feedback.map((f) => `${f.kind} ${f.n}`).join(", ")}; open tickets ${tickets}`);
  },
};
