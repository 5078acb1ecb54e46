// Text we did not write (customers' words, the model's answers, names) made harmless for Slack
// mrkdwn: `&`, `<`, `>` escaped, so `<!channel>`, `<!here>`, `<@U...>` and `<url|label>` show as
// text; `@channel`-style words cannot ping; links only to allow-listed hosts stay links, every
// other URL or bare domain is shown defanged (`evil[.]example/path`), so nothing disguised is
// clickable.

const MARKDOWN_LINK = /\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]+)\)/g;
const URL = /\bhttps?:\/\/[^\s<>|"'`]+/gi;
// A bare domain ("evil.example", "www.x.co/path"); not the part after an @ (e-mail addresses
// are not links to open) and not something already defanged.
const BARE_DOMAIN =
  /(?<![@\p{L}\p{N}._/[-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24})(?![\p{L}\p{N}-]|\.[a-z0-9])/giu;
const BROADCAST = /([@＠])(channel|here|everyone)\b/gi;

function hostOf(url: string): string | null {
  try {
    return new globalThis.URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/** True when `host` is one of `allowed` or a subdomain of one. */
export function isAllowedHost(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase();
  return allowed.some((a) => h === a || h.endsWith(`.${a}`));
}

const defangHost = (host: string) => host.replace(/\./g, "[.]");

/** A URL shown as inert text: no scheme, dots in the host bracketed. */
function defangUrl(url: string): string {
  const m = /^https?:\/\/([^/?#]+)(.*)$/i.exec(url);
  return m ? `${defangHost(m[1]!)}${m[2] ?? ""}` : defangHost(url);
}

const escapeEntities = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * Escapes untrusted text for Slack mrkdwn (see the file comment). Markdown links to allowed hosts
 * become Slack links; formatting such as `*bold*` is kept.
 */
export function esc(text: string, linkHosts: readonly string[] = []): string {
  const kept: string[] = [];
  const keep = (s: string) => `\uE000${kept.push(s) - 1}\uE000`;
  let out = text.replace(/\uE000/g, "").replace(MARKDOWN_LINK, (_m, label: string, url: string) => {
    const host = hostOf(url);
    if (host && isAllowedHost(host, linkHosts))
      return keep(`<${escapeEntities(url)}|${escapeEntities(label).replace(/\|/g, "¦")}>`);
    return `${label} (${defangUrl(url)})`;
  });
  out = escapeEntities(out);
  out = out.replace(URL, (url) => {
    const host = hostOf(url.replace(/&amp;/g, "&"));
    return host && isAllowedHost(host, linkHosts) ? keep(url) : defangUrl(url);
  });
  out = out.replace(BARE_DOMAIN, (domain: string) => (isAllowedHost(domain, linkHosts) ? domain : defangHost(domain)));
  out = out.replace(BROADCAST, (_m, at: string, word: string) => `${at}\u2060${word}`);
  return out.replace(/\uE000(\d+)\uE000/g, (_m, i: string) => kept[Number(i)]!);
}
