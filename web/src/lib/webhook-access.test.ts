import { describe, expect, it } from 'vitest';
import { can, ROLES } from '../../../src/access/roles.ts';
import { canWriteWebhooks, screensFor } from './screens.ts';

/** The menu mirrors the server's role table (src/access/roles.ts, pure data: no server code runs). */
describe('who is offered the Webhooks screen', () => {
  it.each(ROLES)('offers it to %s exactly when the role holds webhooks:read', (role) => {
    expect(screensFor(role).some((s) => s.path === '/webhooks')).toBe(can(role, 'webhooks:read'));
  });

  it.each(ROLES)('lets %s change webhooks exactly when the role holds webhooks:write', (role) => {
    expect(canWriteWebhooks(role)).toBe(can(role, 'webhooks:write'));
  });
});
