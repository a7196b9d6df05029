import { Type } from '@sinclair/typebox';
import type { AuditLog } from '../audit/audit-log.ts';
import { ID_PATTERN } from '../errors/ids.ts';
import { type App, actorOf } from '../server/http.ts';
import { type CareTeamStore, MAX_TEAM_MEMBERS } from './care-teams.store.ts';

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
      const { id, name, members } = request.body;
      await careTeams.create(id, name);
      if (members) await careTeams.setMembers(id, members);
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
      await careTeams.setMembers(id, request.body.members);
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
