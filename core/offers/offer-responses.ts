// What a customer does with an offer they received: use it (we show the code and record the
// intent), say "not interested" (recorded; the contact policy then cools further offers down for
// `config.contact.declineCooldownDays`), or redeem it later at the till (import or staff).
import { Prisma, type Database } from "../db/client";
import { err, ok, type Result } from "../result";
import { normaliseOfferCode } from "./offer-code";

export type OfferResponseError =
  | { type: "not_found" }
  | { type: "not_yours" }
  | { type: "expired"; expiresAt: Date }
  | { type: "already_responded"; status: string };

export interface AcceptedOffer {
  issueId: number;
  code: string;
  title: string;
  expiresAt: Date;
  /** true when the customer had already accepted: the same code is shown again. */
  repeated: boolean;
}

const OPEN_STATUSES = ["issued", "sent"];

async function loadIssue(db: Database, issueId: number, customerId: number, now: Date) {
  const issue = await db.prisma.offerIssue.findUnique({
    where: { id: issueId },
    include: { offer: { select: { title: true } } },
  });
  if (!issue) return err<OfferResponseError>({ type: "not_found" });
  if (issue.customerId !== customerId) return err<OfferResponseError>({ type: "not_yours" });
  if (
    issue.status === "expired" ||
    (OPEN_STATUSES.includes(issue.status) && issue.expiresAt.getTime() <= now.getTime())
  ) {
    return err<OfferResponseError>({ type: "expired", expiresAt: issue.expiresAt });
  }
  return ok(issue);
}

/**
 * The customer wants to use the offer: status `accepted`, and the code and expiry to show.
 * Accepting twice shows the same code again; a declined or redeemed offer is `already_responded`.
 */
export async function acceptOffer(
  db: Database,
  input: { issueId: number; customerId: number; now: Date },
): Promise<Result<AcceptedOffer, OfferResponseError>> {
  const found = await loadIssue(db, input.issueId, input.customerId, input.now);
  if (!found.ok) return found;
  const issue = found.value;
  const view = { issueId: issue.id, code: issue.code, title: issue.offer.title, expiresAt: issue.expiresAt };
  if (issue.status === "accepted") return ok({ ...view, repeated: true });
  if (!OPEN_STATUSES.includes(issue.status)) return err({ type: "already_responded", status: issue.status });
  const updated = await db.prisma.offerIssue.updateMany({
    where: { id: issue.id, status: { in: OPEN_STATUSES } },
    data: { status: "accepted", respondedAt: input.now },
  });
  if (updated.count === 0) return err({ type: "already_responded", status: "changed" });
  await audit(db, input.customerId, "offer.accepted", issue.id, input.now);
  return ok({ ...view, repeated: false });
}

/**
 * "Not interested": status `declined`, which starts the decline cool-down. Declining again is
 * `repeated: true` (nothing changes, nothing more to confirm).
 */
export async function declineOffer(
  db: Database,
  input: { issueId: number; customerId: number; now: Date },
): Promise<Result<{ issueId: number; repeated: boolean }, OfferResponseError>> {
  const found = await loadIssue(db, input.issueId, input.customerId, input.now);
  if (!found.ok) return found;
  if (found.value.status === "declined") return ok({ issueId: input.issueId, repeated: true });
  const updated = await db.prisma.offerIssue.updateMany({
    where: { id: input.issueId, status: { in: OPEN_STATUSES } },
    data: { status: "declined", respondedAt: input.now },
  });
  if (updated.count === 0) return err({ type: "already_responded", status: found.value.status });
  await audit(db, input.customerId, "offer.declined", input.issueId, input.now);
  return ok({ issueId: input.issueId, repeated: false });
}

/** Checks that an offer issue belongs to the customer (for "stop offers" pressed on it). */
export async function checkOfferOwner(
  db: Database,
  issueId: number,
  customerId: number,
): Promise<Result<true, OfferResponseError>> {
  const issue = await db.prisma.offerIssue.findUnique({ where: { id: issueId }, select: { customerId: true } });
  if (!issue) return err({ type: "not_found" });
  if (issue.customerId !== customerId) return err({ type: "not_yours" });
  return ok(true);
}

export type RedeemError =
  | { type: "unknown_code" }
  | { type: "not_yours" }
  | { type: "expired"; expiresAt: Date }
  | { type: "already_redeemed" }
  | { type: "declined" };

/**
 * Redeems an offer by its code (at the till, or matched by the import). Redeeming the same code
 * for the same purchase twice is `already_redeemed`.
 */
export async function redeemOffer(
  db: Database,
  input: { code: string; customerId?: number; purchaseId?: number; amount?: number; now: Date; actor?: string },
): Promise<Result<{ redemptionId: number; issueId: number; customerId: number }, RedeemError>> {
  const issue = await db.prisma.offerIssue.findUnique({ where: { code: normaliseOfferCode(input.code) } });
  if (!issue) return err({ type: "unknown_code" });
  if (input.customerId !== undefined && issue.customerId !== input.customerId) return err({ type: "not_yours" });
  if (issue.status === "redeemed") return err({ type: "already_redeemed" });
  if (issue.status === "declined") return err({ type: "declined" });
  if (issue.status === "expired" || issue.expiresAt.getTime() <= input.now.getTime())
    return err({ type: "expired", expiresAt: issue.expiresAt });
  try {
    const redemption = await db.prisma.redemption.create({
      data: {
        offerIssueId: issue.id,
        customerId: issue.customerId,
        purchaseId: input.purchaseId ?? null,
        amount: input.amount === undefined ? null : new Prisma.Decimal(input.amount),
        redeemedAt: input.now,
      },
    });
    await db.prisma.offerIssue.update({
      where: { id: issue.id },
      data: { status: "redeemed", respondedAt: issue.respondedAt ?? input.now },
    });
    await audit(db, issue.customerId, "offer.redeemed", issue.id, input.now, input.actor);
    return ok({ redemptionId: redemption.id, issueId: issue.id, customerId: issue.customerId });
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002")
      return err({ type: "already_redeemed" });
    throw error;
  }
}

async function audit(
  db: Database,
  customerId: number,
  action: string,
  issueId: number,
  now: Date,
  actor?: string,
): Promise<void> {
  await db.prisma.auditLog.create({
    data: {
      actor: actor ?? `customer:${customerId}`,
      action,
      entityType: "offer_issue",
      entityId: String(issueId),
      createdAt: now,
    },
  });
}
