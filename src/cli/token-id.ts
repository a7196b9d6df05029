import { VigilError } from '../errors/catalogue.ts';

const ID = /^[a-f0-9]{16}$/;
/** `vgl_<id>.<secret>` (access/api-tokens.ts): the id is public, the part after the dot is not. */
const WHOLE_TOKEN = /^vgl_([a-f0-9]{16})\./;

/**
 * The id of an API token as an operator may give it to `vigil token revoke`: the id itself (16
 * hex characters, as `vigil token list` shows it), or the whole token found leaked, of which
 * only the id is used. Anything else is refused without repeating it: a mistyped or cut-off
 * token is still a secret, and must not reach a terminal log (commander's own refusal would
 * quote the value, so this runs in the action, not as an option parser).
 */
export function tokenIdFrom(value: string): string {
  const text = value.trim();
  if (ID.test(text)) return text;
  const whole = WHOLE_TOKEN.exec(text);
  if (whole?.[1] !== undefined) return whole[1];
  throw new VigilError(
    'VIGIL_ERR_REQUEST_INVALID',
    '--id takes a token id, 16 hex characters as "vigil token list" shows them (or the whole vgl_ token, of which only the id is used)',
  );
}
