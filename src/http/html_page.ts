/**
 * The frame of the server's own HTML pages (status page, invitation
 * page): every value put into the markup goes through `escapeHtml`.
 */

/** Text or an attribute value, safe in HTML: the five markup characters as references. */
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A whole document; `head` and `body` are markup already (values in them escaped). */
export function htmlPage(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${head}
<title>${escapeHtml(title)}</title>
</head>
<body>
${body}
</body>
</html>
`;
}
