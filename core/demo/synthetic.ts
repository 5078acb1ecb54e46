// A seeded synthetic retailer for the demo and for tests: customers with real-looking
// profiles, two years of purchases from a few behaviour archetypes (loyal, fading, lost,
// occasional, new), NPS answers that fit the behaviour, and some complaints.
import type { CustomerRow, PurchaseRow } from "../import/store";
import { Random } from "./random";

export type Archetype = "loyal" | "fading" | "lost" | "occasional" | "new";

export interface SyntheticFeedback {
  customerExternalId: string;
  kind: "nps" | "complaint";
  score: number | null;
  comment: string | null;
  themes: string[];
  createdAt: Date;
}

export interface SyntheticRetailer {
  customers: CustomerRow[];
  purchases: PurchaseRow[];
  feedback: SyntheticFeedback[];
  /** The behaviour each customer was generated from: the ground truth for checks. */
  archetypes: Map<string, Archetype>;
  /** Fake Telegram chat ids for customers who "linked" the bot. */
  chats: Map<string, bigint>;
  asOf: Date;
}

const DAY = 86_400_000;

const CITIES = [
  { city: "London", tz: "Europe/London", locale: "en" },
  { city: "Manchester", tz: "Europe/London", locale: "en" },
  { city: "New York", tz: "America/New_York", locale: "en" },
  { city: "Chicago", tz: "America/Chicago", locale: "en" },
  { city: "Moscow", tz: "Europe/Moscow", locale: "ru" },
  { city: "Saint Petersburg", tz: "Europe/Moscow", locale: "ru" },
  { city: "Yekaterinburg", tz: "Asia/Yekaterinburg", locale: "ru" },
  { city: "Novosibirsk", tz: "Asia/Novosibirsk", locale: "ru" },
] as const;

const NAMES = {
  en: {
    first: [
      "Olivia",
      "Amelia",
      "Isla",
      "Ava",
      "Mia",
      "Jack",
      "Harry",
      "Oliver",
      "George",
      "Noah",
      "Emma",
      "Liam",
      "Sophia",
      "James",
      "Grace",
    ],
    last: [
      "Smith",
      "Jones",
      "Taylor",
      "Brown",
      "Williams",
      "Wilson",
      "Johnson",
      "Davies",
      "Miller",
      "Clark",
      "Walker",
      "Wright",
    ],
  },
  ru: {
    first: [
      "Анна",
      "Мария",
      "Елена",
      "Ольга",
      "Дарья",
      "Иван",
      "Алексей",
      "Дмитрий",
      "Сергей",
      "Михаил",
      "Никита",
      "Татьяна",
    ],
    last: ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Волков", "Морозов", "Лебедев"],
  },
};

/** Category -> share of revenue that is gross margin. */
export const CATEGORY_MARGINS: Record<string, number> = {
  coffee: 0.55,
  tea: 0.5,
  pastry: 0.6,
  "home goods": 0.35,
  gifts: 0.4,
  electronics: 0.15,
};
const CATEGORIES = Object.keys(CATEGORY_MARGINS);

const COMMENTS: Record<"en" | "ru", Record<string, string[]>> = {
  en: {
    delivery: ["Delivery took almost two weeks", "The courier was late again"],
    price: ["Prices went up a lot this year", "Too expensive compared to others"],
    quality: ["The last order arrived damaged", "Quality is not what it used to be"],
    support: ["Nobody answered my emails", "Support was slow and unhelpful"],
    praise: ["Great selection and friendly staff", "Always fast and reliable, love it"],
  },
  ru: {
    delivery: ["Доставка заняла почти две недели", "Курьер опять опоздал"],
    price: ["Цены сильно выросли", "Дороже, чем у других"],
    quality: ["Последний заказ пришёл повреждённым", "Качество стало хуже"],
    support: ["Никто не ответил на мои письма", "Поддержка отвечает медленно"],
    praise: ["Отличный выбор и приветливый персонал", "Всегда быстро и надёжно"],
  },
};

// Customers answer surveys while they still buy, or shortly after: a time between their first
// purchase and a month after their last, within the generated period.
function answeredAt(rnd: Random, joined: number, lastPurchase: number, asOf: number): Date {
  const from = joined;
  const to = Math.min(asOf - DAY, lastPurchase + 30 * DAY);
  return new Date(Math.floor(from + rnd.next() * Math.max(0, to - from)));
}

/**
 * Generates the retailer. Deterministic for a seed. Purchases span the two years before
 * `asOf`; none is later than `asOf`.
 */
export function generateRetailer(options: {
  customers: number;
  seed: number;
  asOf: Date;
  linkedShare?: number;
}): SyntheticRetailer {
  const rnd = new Random(options.seed);
  const asOf = options.asOf.getTime();
  const start = asOf - 730 * DAY;
  const customers: CustomerRow[] = [];
  const purchases: PurchaseRow[] = [];
  const feedback: SyntheticFeedback[] = [];
  const archetypes = new Map<string, Archetype>();
  const chats = new Map<string, bigint>();

  for (let i = 1; i <= options.customers; i++) {
    const externalId = `C${String(i).padStart(6, "0")}`;
    const archetype = rnd.weighted<Archetype>([
      ["loyal", 25],
      ["fading", 20],
      ["lost", 30],
      ["occasional", 15],
      ["new", 10],
    ]);
    archetypes.set(externalId, archetype);
    const place = rnd.pick(CITIES);
    const locale = place.locale;
    const first = rnd.pick(NAMES[locale].first);
    const last = rnd.pick(NAMES[locale].last);
    const female = locale === "ru" && /а$|я$/.test(first);
    const name = `${first} ${locale === "ru" && female ? `${last}а` : last}`;
    const joined = archetype === "new" ? asOf - rnd.int(10, 90) * DAY : start + rnd.next() * 400 * DAY;
    const channel = rnd.weighted([
      ["app", 4],
      ["web", 4],
      ["store", 3],
    ] as const);
    const favourite = rnd.pick(CATEGORIES);
    // Purchase rate (per day) and its evolution, by archetype.
    const meanGap = { loyal: 18, fading: 25, lost: 30, occasional: 110, new: 20 }[archetype] * (0.6 + rnd.next() * 0.8);
    const deathAt = archetype === "lost" ? joined + (60 + rnd.next() * 400) * DAY : Infinity;
    const fadeFrom = archetype === "fading" ? asOf - (150 + rnd.next() * 150) * DAY : Infinity;
    const spendMean = rnd.gamma(4, 9) + 8;
    let t = joined;
    let n = 0;
    let total = 0;
    let lastPurchase = joined;
    while (t < asOf && t < deathAt) {
      n++;
      const category = rnd.chance(0.6) ? favourite : rnd.pick(CATEGORIES);
      const amount = Math.max(2, rnd.gamma(6, spendMean / 6));
      total += amount;
      lastPurchase = t;
      purchases.push({
        externalId: `${externalId}-${n}`,
        customerExternalId: externalId,
        purchasedAt: new Date(Math.floor(t / 60_000) * 60_000),
        amount: amount.toFixed(2),
        grossMargin: (amount * CATEGORY_MARGINS[category]!).toFixed(2),
        quantity: rnd.int(1, 4),
        category,
      });
      // Fading customers' gaps stretch out as time goes on.
      const stretch = t > fadeFrom ? 1 + (t - fadeFrom) / DAY / 25 : 1;
      t += rnd.exponential(1 / (meanGap * stretch)) * DAY + DAY;
    }
    const tier = total > 1500 ? "gold" : total > 500 ? "silver" : "bronze";
    customers.push({
      externalId,
      name,
      email: `${externalId.toLowerCase()}@example.com`,
      phone: `+${locale === "ru" ? "7" : "44"}9${String(100000000 + i * 7919).slice(-9)}`,
      locale,
      timeZone: place.tz,
      signedUpAt: new Date(joined - rnd.int(0, 30) * DAY),
      marketingConsent: rnd.chance(0.94),
      attributes: {
        tier,
        channel,
        city: place.city,
        age: rnd.int(18, 75),
        loyalty_member: rnd.chance(archetype === "loyal" ? 0.7 : 0.35),
      },
    });
    if (rnd.chance(options.linkedShare ?? 0.65)) chats.set(externalId, BigInt(500_000_000 + i));

    // NPS: answered by about a quarter, scores that fit how the customer behaves.
    if (n > 0 && rnd.chance(0.25)) {
      const base = { loyal: 9, fading: 6.5, lost: 4, occasional: 7, new: 8 }[archetype];
      const score = Math.max(0, Math.min(10, Math.round(rnd.normal(base, 1.6))));
      const theme = score >= 9 ? "praise" : rnd.pick(["delivery", "price", "quality", "support"]);
      const withComment = rnd.chance(0.6);
      feedback.push({
        customerExternalId: externalId,
        kind: "nps",
        score,
        comment: withComment ? rnd.pick(COMMENTS[locale][theme]!) : null,
        themes: withComment && theme !== "praise" ? [theme] : [],
        createdAt: answeredAt(rnd, joined, lastPurchase, asOf),
      });
    }
    if (archetype !== "loyal" && n > 0 && rnd.chance(0.04)) {
      const theme = rnd.pick(["delivery", "quality", "support"]);
      feedback.push({
        customerExternalId: externalId,
        kind: "complaint",
        score: null,
        comment: rnd.pick(COMMENTS[locale][theme]!),
        themes: [theme],
        createdAt: new Date(Math.min(asOf - DAY, lastPurchase + rnd.int(1, 30) * DAY)),
      });
    }
  }
  return { customers, purchases, feedback, archetypes, chats, asOf: options.asOf };
}
