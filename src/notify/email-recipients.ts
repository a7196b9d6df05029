import { parseUsername } from '../access/usernames.ts';
import type { UserStore } from '../access/users.store.ts';

/**
 * Looks up the address of a care-team member (a username) when an e-mail is sent, not when it
 * is queued: a user who changed their address since gets it at the new one, and a user disabled
 * meanwhile gets none. A member who is not a user, or has no address, gets none either.
 */
export function memberAddress(
  users: Pick<UserStore, 'findByUsername'>,
): (member: string) => Promise<string | undefined> {
  return async (member) => {
    const username = parseUsername(member);
    const user = username ? await users.findByUsername(username) : undefined;
    return user && user.disabledAt === null ? (user.email ?? undefined) : undefined;
  };
}
