import { Type } from '@sinclair/typebox';
import type { AuditLog } from '../audit/audit-log.ts';
import { VigilError } from '../errors/catalogue.ts';
import { ID_PATTERN } from '../errors/ids.ts';
import { type App, actorOf } from '../server/http.ts';
import { type CareTeamStore, MAX_TEAM_MEMBERS, type MemberCheck } from './care-teams.store.ts';

export interface CareTeamRouteDeps {
  careTeams: CareTeamStore;
  audit: AuditLog;
}

const Id = Type.String({ pattern: ID_PATTERN.source, maxLength: 64 });
const Team = Type.Object({
  id: Type.String(),
  name: Type.String(),
  members: Type.Array(Type.String()),
  patients: Type.Array(Type.String()),
});

const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');

/**
 * Refuses a member list naming anyone an alert could not reach: the escalation ladder would
 * silently skip them, or end with no one. Refused rather than saved with a warning, because a
 * warning is easy to miss and the team would be wrong until someone noticed.
 */
function reachableMembers(check: MemberCheck): string[] {
  if (check.unknown.length === 0 && check.disabled.length === 0) return check.members;
  const problems = [
    ...(check.unknown.length > 0 ? [`no user or API token is named ${quoted(check.unknown)}`] : []),
    ...(check.disabled.length > 0 ? [`the account of ${quoted(check.disabled)} is disabled`] : []),
  ];
  throw new VigilError(
    'VIGIL_ERR_REQUEST_INVALID',
    `members must be users or API tokens that can answer an alert: ${problems.join('; ')}. Check the spelling, or add or enable the user first.`,
  );
}

export function registerCareTeamRoutes(app: App, { careTeams, audit }: CareTeamRouteDeps): void {
  const record = (actor: string, action: string, resource: string, source: string, patientId?: string) =>
    audit.append({ actor, action, resource, outcome: 'success', source, patientId });

  app.get(
    '/api/v1/care-teams',
    {
      config: { access: { permission: 'careteams:read' } },
      schema: {
        summary: 'Care teams with their members (in escalation order) and patients',
        security: [{ bearer: [] }],
        response: { 200: Type.Object({ careTeams: Type.Array(Team) }) },
      },
    },
    async () => ({ careTeams: await careTeams.list() }),
  );

  app.post(
    '/api/v1/care-teams',
    {
      config: { access: { permission: 'careteams:write' } },
      schema: {
        summary: 'Create a care team',
        description:
          'Members are user or API token names in escalation order; an unknown name, or a disabled user, is refused (400) and the team is not created.',
        security: [{ bearer: [] }],
        body: Type.Object(
          {
            id: Id,
            name: Type.String({ minLength: 1, maxLength: 200 }),
            members: Type.Optional(Type.Array(Id, { maxItems: MAX_TEAM_MEMBERS })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Team },
      },
    },
    async (request, reply) => {
      const { id, name } = request.body;
      const members = reachableMembers(await careTeams.checkMembers(request.body.members ?? []));
      await careTeams.create(id, name);
      if (members.length > 0) await careTeams.setMembers(id, members);
      await record(actorOf(request), 'care-team.create', `CareTeam/${id}`, request.ip);
      return reply.code(201).send(await careTeams.get(id));
    },
  );

  app.put(
    '/api/v1/care-teams/:id/members',
    {
      config: { access: { permission: 'careteams:write' } },
      schema: {
        summary: 'Replace the members; their order is the escalation order',
        description:
          'Members are user or API token names; an unknown name, or a disabled user, is refused (400) and the members stay as they were.',
        security: [{ bearer: [] }],
        params: Type.Object({ id: Id }),
        body: Type.Object(
          { members: Type.Array(Id, { maxItems: MAX_TEAM_MEMBERS }) },
          { additionalProperties: false },
        ),
        response: { 200: Team },
      },
    },
    async (request) => {
      const { id } = request.params;
      await careTeams.setMembers(id, reachableMembers(await careTeams.checkMembers(request.body.members)));
      await record(actorOf(request), 'care-team.members', `CareTeam/${id}`, request.ip);
      return careTeams.get(id);
    },
  );

  app.put(
    '/api/v1/care-teams/:id/patients/:patientId',
    {
      config: { access: { permission: 'careteams:write' } },
      schema: {
        summary: 'Put a patient in the care of a team',
        security: [{ bearer: [] }],
        params: Type.Object({ id: Id, patientId: Id }),
        response: { 200: Team },
      },
    },
    async (request) => {
      const { id, patientId } = request.params;
      await careTeams.addPatient(id, patientId);
      await record(actorOf(request), 'care-team.add-patient', `CareTeam/${id}`, request.ip, patientId);
      return careTeams.get(id);
    },
  );

  app.delete(
    '/api/v1/care-teams/:id/patients/:patientId',
    {
      config: { access: { permission: 'careteams:write' } },
      schema: {
        summary: "Take a patient out of a team's care",
        security: [{ bearer: [] }],
        params: Type.Object({ id: Id, patientId: Id }),
        response: { 200: Team },
      },
    },
    async (request) => {
      const { id, patientId } = request.params;
      await careTeams.removePatient(id, patientId);
      await record(actorOf(request), 'care-team.remove-patient', `CareTeam/${id}`, request.ip, patientId);
      return careTeams.get(id);
    },
  );
}
