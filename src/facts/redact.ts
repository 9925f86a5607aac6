/**
 * Masks credentials in configuration text before it is kept in facts or printed: proxy URLs
 * in drop-ins (HTTP_PROXY=http://user:secret@proxy) and variables named like secrets.
 */
const URL_USERINFO = /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^\s:/@'"]+):([^\s@'"]+)@/g;
const SECRET_ASSIGNMENT =
  /\b([A-Za-z0-9_]*(?:PASSWORD|PASSWD|PASS|SECRET|TOKEN|API_?KEY|CREDENTIALS?)[A-Za-z0-9_]*)=("[^"\n]*"|'[^'\n]*'|[^\s"']*)/gi;

export const MASK = '***';

/** The text with URL passwords and secret-looking assignments masked. */
export function redactSecrets(text: string): string {
  return text
    .replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${MASK}@`)
    .replace(SECRET_ASSIGNMENT, (_m, name: string) => `${name}=${MASK}`);
}
