import type { Database } from "../db/client";
import { upsertCustomers, upsertPurchases } from "../import/store";
import type { SyntheticRetailer } from "./synthetic";

/**
 * Writes a generated retailer into the store: customers, purchases, linked chats, NPS
 * answers, and complaints with their open tickets.
 */
export async function loadRetailer(
  db: Database,
  data: SyntheticRetailer,
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  const { prisma } = db;
  for (let i = 0; i < data.customers.length; i += 5000)
    await upsertCustomers(prisma, data.customers.slice(i, i + 5000));
  for (let i = 0; i < data.purchases.length; i += 10_000) {
    await upsertPurchases(prisma, data.purchases.slice(i, i + 10_000));
    onProgress?.(Math.min(i + 10_000, data.purchases.length), data.purchases.length);
  }
  const chatIds = [...data.chats.entries()];
  await prisma.$executeRaw`
    UPDATE customers c SET telegram_chat_id = t.chat, telegram_user_id = t.chat, telegram_linked_at = ${data.asOf}
    FROM unnest(${chatIds.map(([id]) => id)}::text[], ${chatIds.map(([, chat]) => chat.toString())}::bigint[]) AS t(external_id, chat)
    WHERE c.external_id = t.external_id`;
  await prisma.$executeRaw`UPDATE customers SET opted_out_at = ${data.asOf} WHERE NOT marketing_consent AND opted_out_at IS NULL`;
  // Consent is opt-in: the synthetic customers who agreed did so when they signed up to the demo shop.
  await prisma.$executeRaw`
    UPDATE customers SET consent_at = coalesce(signed_up_at, ${data.asOf}), consent_source = 'demo'
    WHERE marketing_consent AND consent_at IS NULL`;

  const ids = new Map(
    (await prisma.customer.findMany({ select: { id: true, externalId: true } })).map((c) => [c.externalId, c.id]),
  );
  const nps = data.feedback.filter((f) => f.kind === "nps");
  await prisma.feedback.createMany({
    data: nps.map((f) => ({
      customerId: ids.get(f.customerExternalId)!,
      kind: "nps",
      score: f.score,
      comment: f.comment,
      themes: f.themes,
      source: "import",
      createdAt: f.createdAt,
    })),
  });
  let ref = 1000;
  for (const complaint of data.feedback.filter((f) => f.kind === "complaint")) {
    const customerId = ids.get(complaint.customerExternalId)!;
    ref++;
    await prisma.ticket.create({
      data: {
        reference: `T-${ref}`,
        customerId,
        source: "complaint",
        subject: complaint.comment?.slice(0, 80),
        createdAt: complaint.createdAt,
        messages: { create: { author: "customer", text: complaint.comment ?? "", createdAt: complaint.createdAt } },
        feedback: {
          create: {
            customerId,
            kind: "complaint",
            comment: complaint.comment,
            themes: complaint.themes,
            source: "import",
            createdAt: complaint.createdAt,
          },
        },
      },
    });
  }
}
