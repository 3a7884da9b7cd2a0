/**
 * Escaping for the status page. Team names and other participant-chosen strings reach the page; they
 * must stay text whatever they hold. In HTML text and attribute values: `escapeHtml`. Data handed to the
 * page's script inside a <script> element: `jsonForScript`, which cannot close the element or start a
 * comment, whatever the strings hold.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** JSON that is safe inside <script type="application/json">: no `<`, `>`, `&` or line separators as such. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
