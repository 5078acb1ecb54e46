// A staff reply written in Slack, as the customer should see it on Telegram. Slack sends mrkdwn:
// `&`, `<`, `>` escaped as entities, links as `<url|label>`, mentions as `<@U123>`, *bold*,
// _italic_, ~strike~, `code` and ```blocks```. Telegram's HTML mode reads the same three entities,
// so the text stays escaped and only the markup is translated. Mentions become the colleague's
// name (looked up once per reply); channel and group pings are dropped; e-mail links become the
// address (Telegram links it itself).

/** Slack user ids mentioned in a text (`<@U123>` or `<@U123|name>`). */
export function mentionedUsers(text: string): string[] {
  return [...new Set([...text.matchAll(/<@([A-Z0-9]+)(?:\|[^>]*)?>/g)].map((m) => m[1]!))];
}

function unescapeEntities(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeAttribute(text: string): string {
  return escapeHtml(text).replace(/"/g, "&quot;");
}

/** Replaces Slack's angle-bracket forms; `link` renders a link, `name` a mention. */
function replaceSpecials(
  text: string,
  names: ReadonlyMap<string, string>,
  link: (url: string, label: string) => string,
  name: (display: string) => string,
): string {
  return text.replace(/<([^<>]+)>/g, (_all, inner: string) => {
    const [target, label] = inner.split("|", 2) as [string, string | undefined];
    if (target.startsWith("@")) {
      const id = target.slice(1);
      return name(names.get(id) ?? label ?? "a colleague");
    }
    if (target.startsWith("#")) return label ? `#${label}` : "";
    if (target.startsWith("!")) return ""; // <!here>, <!channel>, <!subteam^...>: pings are for Slack only
    if (target.startsWith("mailto:")) return name(label ?? target.slice("mailto:".length));
    if (/^(https?|tg):/.test(target)) return link(target, label ?? target);
    return label ?? target;
  });
}

/** Plain text (for the stored reply and channels without formatting): entities decoded. */
export function slackToPlain(text: string, names: ReadonlyMap<string, string> = new Map()): string {
  return unescapeEntities(
    replaceSpecials(
      text,
      names,
      (url, label) => (label === url ? url : `${label} (${url})`),
      (display) => display,
    ),
  ).trim();
}

/**
 * Telegram HTML: links as `<a href>`, *bold*, _italic_, ~strike~, `code` and ```pre```; every
 * other character escaped. Lists and line breaks stay as written (Telegram keeps them).
 */
export function slackToTelegramHtml(text: string, names: ReadonlyMap<string, string> = new Map()): string {
  // Code first: nothing inside it is markup.
  const pieces = text.split(/(```[\s\S]*?```|`[^`\n]+`)/g);
  return pieces
    .map((piece, i) => {
      if (i % 2 === 1) {
        const block = piece.startsWith("```");
        const body = block ? piece.slice(3, -3).replace(/^\n/, "") : piece.slice(1, -1);
        // Slack's entities are Telegram's: the code stays escaped as it came.
        return block ? `<pre>${body}</pre>` : `<code>${body}</code>`;
      }
      const linked = replaceSpecials(
        piece,
        names,
        (url, label) =>
          `<a href="${escapeAttribute(unescapeEntities(url))}">${escapeHtml(unescapeEntities(label))}</a>`,
        (display) => escapeHtml(unescapeEntities(display)),
      );
      return linked
        .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,!?:;])/g, "$1<b>$2</b>")
        .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,!?:;])/g, "$1<i>$2</i>")
        .replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,!?:;])/g, "$1<s>$2</s>");
    })
    .join("")
    .trim();
}
