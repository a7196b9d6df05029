import type { Kysely } from 'kysely';
import { parseUsername } from '../access/usernames.ts';
import { VigilError } from '../errors/catalogue.ts';
import { isValidId } from '../errors/ids.ts';
import type { Schema } from '../store/schema.ts';

export interface CareTeam {
  id: string;
  name: string;
  /** In escalation order: the first gets an alert first. */
  members: string[];
  patients: string[];
}

export const MAX_TEAM_MEMBERS = 20;

/** Who a proposed member list names, as the care-team routes check it before saving. */
export interface MemberCheck {
  /** The members as they are to be stored: usernames in canonical (lower-case) form, token names as given. */
  members: string[];
  /** Names that are neither a user nor an API token in force (revoked and expired tokens count as gone). */
  unknown: string[];
  /** Users whose account is disabled: they cannot sign in to answer an alert. */
  disabled: string[];
}

function checkId(kind: string, id: string): void {
  if (!isValidId(id)) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `${kind} "${id.slice(0, 64)}" is not valid; use 1-64 letters, digits, '.', '_' or '-'`,
    );
  }
}

/** Care teams: who looks after which patients, and in which order alerts escalate among them. */
export class CareTeamStore {
  constructor(private readonly db: Kysely<Schema>) {}

  async create(id: string, name: string, nowMs = Date.now()): Promise<void> {
    checkId('care team id', id);
    if (name.trim() === '' || name.length > 200) {
      throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'care team name must be 1-200 characters');
    }
    const exists = await this.db
      .selectFrom('care_teams')
      .select('id')
      .where('id', '=', id)
      .executeTakeFirst();
    if (exists) throw new VigilError('VIGIL_ERR_CARE_TEAM_EXISTS', `care team ${id} already exists`);
    await this.db.insertInto('care_teams').values({ id, name, created_at: nowMs }).execute();
  }

  /** Replaces the member list; its order is the escalation order. */
  async setMembers(teamId: string, members: readonly string[]): Promise<void> {
    await this.require(teamId);
    for (const m of members) checkId('member', m);
    if (new Set(members).size !== members.length) {
      throw new VigilError('VIGIL_ERR_REQUEST_INVALID', 'a member appears twice in the list');
    }
    if (members.length > MAX_TEAM_MEMBERS) {
      throw new VigilError(
        'VIGIL_ERR_REQUEST_INVALID',
        `a care team holds at most ${MAX_TEAM_MEMBERS} members`,
      );
    }
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('care_team_members').where('team_id', '=', teamId).execute();
      if (members.length > 0) {
        await tx
          .insertInto('care_team_members')
          .values(members.map((member, position) => ({ team_id: teamId, member, position })))
          .execute();
      }
    });
  }

  /**
   * Who each name is: members are user or API token names (the README's tour lists a token),
   * and an alert escalates along them, so a typo or a disabled account would escalate to no
   * one. A token in force wins over a user of the same name, as authentication does. Reads the
   * access domain's tables here because vigil.ts hands the routes only this store; nothing is
   * written outside care_team_* tables.
   */
  async checkMembers(names: readonly string[], nowMs = Date.now()): Promise<MemberCheck> {
    const result: MemberCheck = { members: [], unknown: [], disabled: [] };
    if (names.length === 0) return result;
    const usernames = names.map((n) => parseUsername(n) ?? n);
    const [users, tokens] = await Promise.all([
      this.db
        .selectFrom('users')
        .select(['username', 'disabled_at'])
        .where('username', 'in', usernames)
        .execute(),
      this.db
        .selectFrom('api_tokens')
        .select('name')
        .where('name', 'in', [...names])
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', nowMs)
        .execute(),
    ]);
    const liveTokens = new Set(tokens.map((t) => t.name));
    const userByName = new Map(users.map((u) => [u.username, u]));
    names.forEach((name, i) => {
      const user = userByName.get(usernames[i] ?? name);
      if (liveTokens.has(name)) result.members.push(name);
      else if (!user) result.unknown.push(name);
      else if (user.disabled_at !== null) result.disabled.push(name);
      else result.members.push(user.username);
    });
    return result;
  }

  async addPatient(teamId: string, patientId: string, nowMs = Date.now()): Promise<void> {
    await this.require(teamId);
    const patient = await this.db
      .selectFrom('patients')
      .select(['id', 'erased_at'])
      .where('id', '=', patientId)
      .executeTakeFirst();
    if (!patient || patient.erased_at !== null) {
      throw new VigilError(
        'VIGIL_ERR_PATIENT_UNKNOWN',
        `patient ${patientId.slice(0, 64)} is not registered`,
      );
    }
    const linked = await this.db
      .selectFrom('care_team_patients')
      .select('patient_id')
      .where('team_id', '=', teamId)
      .where('patient_id', '=', patientId)
      .executeTakeFirst();
    if (!linked) {
      await this.db
        .insertInto('care_team_patients')
        .values({ team_id: teamId, patient_id: patientId, since_ms: nowMs })
        .execute();
    }
  }

  async removePatient(teamId: string, patientId: string): Promise<void> {
    await this.require(teamId);
    await this.db
      .deleteFrom('care_team_patients')
      .where('team_id', '=', teamId)
      .where('patient_id', '=', patientId)
      .execute();
  }

  async list(): Promise<CareTeam[]> {
    const [teams, members, patients] = await Promise.all([
      this.db.selectFrom('care_teams').select(['id', 'name']).orderBy('id').execute(),
      this.db.selectFrom('care_team_members').selectAll().orderBy('position').execute(),
      this.db.selectFrom('care_team_patients').selectAll().orderBy('patient_id').execute(),
    ]);
    return teams.map((t) => ({
      id: t.id,
      name: t.name,
      members: members.filter((m) => m.team_id === t.id).map((m) => m.member),
      patients: patients.filter((p) => p.team_id === t.id).map((p) => p.patient_id),
    }));
  }

  async get(id: string): Promise<CareTeam> {
    const team = (await this.list()).find((t) => t.id === id);
    if (!team)
      throw new VigilError('VIGIL_ERR_CARE_TEAM_UNKNOWN', `care team ${id.slice(0, 64)} does not exist`);
    return team;
  }

  /**
   * The escalation ladder for a patient: the members of the patient's care teams in order,
   * teams by id (a patient usually has one team), each member once.
   */
  async escalationOrder(patientId: string, nowMs = Date.now()): Promise<string[]> {
    const rows = await this.db
      .selectFrom('care_team_patients as p')
      .innerJoin('care_team_members as m', 'm.team_id', 'p.team_id')
      .select(['m.member', 'm.team_id', 'm.position'])
      .where('p.patient_id', '=', patientId)
      .orderBy('m.team_id')
      .orderBy('m.position')
      .execute();
    const members = [...new Set(rows.map((r) => r.member))];
    if (members.length === 0) return members;
    // A member who can no longer answer would hold an alert for a whole escalation period with
    // no one on it: a user whose account was disabled after the team was saved cannot sign in,
    // and an API token that has since expired or been revoked reaches no one. Each is passed
    // over. A name counts as present while an enabled user or a token in force has it (a token
    // in force wins over a user of the same name, as checkMembers counts); a name that is
    // neither user nor token at all is left as it is, as before.
    const [users, tokens] = await Promise.all([
      this.db
        .selectFrom('users')
        .select(['username', 'disabled_at'])
        .where('username', 'in', members)
        .execute(),
      this.db
        .selectFrom('api_tokens')
        .select(['name', 'revoked_at', 'expires_at'])
        .where('name', 'in', members)
        .execute(),
    ]);
    const known = new Set([...users.map((u) => u.username), ...tokens.map((t) => t.name)]);
    const present = new Set([
      ...users.filter((u) => u.disabled_at === null).map((u) => u.username),
      ...tokens.filter((t) => t.revoked_at === null && t.expires_at > nowMs).map((t) => t.name),
    ]);
    return members.filter((m) => present.has(m) || !known.has(m));
  }

  private async require(id: string): Promise<void> {
    const row = await this.db.selectFrom('care_teams').select('id').where('id', '=', id).executeTakeFirst();
    if (!row)
      throw new VigilError('VIGIL_ERR_CARE_TEAM_UNKNOWN', `care team ${id.slice(0, 64)} does not exist`);
  }
}
