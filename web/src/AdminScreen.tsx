import type { Me } from './api/types.ts';
import type { Route } from './lib/router.ts';
import {
  canOpenDevicePage,
  canQuarantine,
  canReadPosture,
  canWriteWebhooks,
  isAdministrator,
} from './lib/screens.ts';
import { AuditLog } from './screens/AuditLog.tsx';
import { CareTeams } from './screens/CareTeams.tsx';
import { Consent } from './screens/Consent.tsx';
import { DevicePage } from './screens/DevicePage.tsx';
import { EnrolDevice } from './screens/EnrolDevice.tsx';
import { Posture } from './screens/Posture.tsx';
import { Users } from './screens/Users.tsx';
import { Webhooks } from './screens/Webhooks.tsx';

/**
 * The administrator's, security officer's and auditor's screens, with what the role may
 * change on each (the server enforces the same; this only hides controls that would be refused).
 */
export function AdminScreen(props: { route: Route; me: Me }) {
  const { route, me } = props;
  const isAdmin = isAdministrator(me.role);
  switch (route.screen) {
    case 'users':
      return <Users meId={me.id} canWrite={isAdmin} />;
    case 'care-teams':
      return <CareTeams canWrite={isAdmin} />;
    case 'consent':
      return <Consent canWrite={isAdmin} />;
    case 'enrol-device':
      return <EnrolDevice />;
    case 'device':
      return (
        <DevicePage
          key={route.deviceId}
          deviceId={route.deviceId}
          canQuarantine={canQuarantine(me.role)}
          canAdminister={isAdmin}
          canReadPosture={canReadPosture(me.role)}
        />
      );
    case 'posture':
      return <Posture canOpenDevice={canOpenDevicePage(me.role)} />;
    case 'audit':
      return <AuditLog />;
    case 'webhooks':
      return <Webhooks canWrite={canWriteWebhooks(me.role)} />;
    default:
      return null;
  }
}
