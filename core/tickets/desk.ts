// The support desk without Slack: tickets listed and read from the command line. Replies and
// resolving go through `addStaffReply` / `resolveTicket`, so they reach the customer through the
// outbox exactly as replies from Slack do.
import type { Database } from "../db/client";

export interface TicketListItem {
  id: number;
  reference: string;
  status: string;
  source: string;
  priority: string;
  subject: string | null;
  messages: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Tickets by status (default: not resolved), newest activity first. */
export async function listTickets(
  db: Database,
  options: { status?: "open" | "pending" | "resolved" | "unresolved" | "all"; limit?: number } = {},
): Promise<TicketListItem[]> {
  const status = options.status ?? "unresolved";
  const where = status === "all" ? {} : status === "unresolved" ? { status: { in: ["open", "pending"] } } : { status };
  const rows = await db.prisma.ticket.findMany({
    where,
    orderBy: [{ updatedAt: "desc" }, { id: "desc" }],
    take: options.limit ?? 50,
    include: { _count: { select: { messages: true } } },
  });
  return rows.map((t) => ({
    id: t.id,
    reference: t.reference,
    status: t.status,
    source: t.source,
    priority: t.priority,
    subject: t.subject,
    messages: t._count.messages,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  }));
}

export interface TicketDetail extends TicketListItem {
  customer: { externalId: string; name: string | null } | null;
  thread: {
    author: string;
    internal: boolean;
    text: string;
    attachments: { kind: string; fileId: string }[];
    createdAt: Date;
  }[];
}

/** Finds a ticket by its reference ("T-1042") or id ("42"). */
export async function findTicketId(db: Database, ref: string): Promise<number | null> {
  const trimmed = ref.trim().toUpperCase();
  const byRef = /^T-\d+$/.test(trimmed)
    ? await db.prisma.ticket.findUnique({ where: { reference: trimmed }, select: { id: true } })
    : /^\d+$/.test(trimmed)
      ? await db.prisma.ticket.findUnique({ where: { id: Number(trimmed) }, select: { id: true } })
      : null;
  return byRef?.id ?? null;
}

/** A ticket with its customer and whole thread (internal notes marked). */
export async function ticketDetail(db: Database, ticketId: number): Promise<TicketDetail | null> {
  const t = await db.prisma.ticket.findUnique({
    where: { id: ticketId },
    include: {
      customer: { select: { externalId: true, name: true } },
      messages: { orderBy: [{ createdAt: "asc" }, { id: "asc" }] },
    },
  });
  if (!t) return null;
  return {
    id: t.id,
    reference: t.reference,
    status: t.status,
    source: t.source,
    priority: t.priority,
    subject: t.subject,
    messages: t.messages.length,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    customer: t.customer,
    thread: t.messages.map((m) => ({
      author: m.author,
      internal: m.internal,
      text: m.text,
      attachments: Array.isArray(m.attachments) ? (m.attachments as { kind: string; fileId: string }[]) : [],
      createdAt: m.createdAt,
    })),
  };
}
