import { type FormEvent, useId, useState } from 'react';
import { useCareTeams, useCreateCareTeam, useSetMembers, useTeamPatient } from '../api/admin-queries.ts';
import type { CareTeam } from '../api/admin-types.ts';
import { ApiError, describeError } from '../api/client.ts';
import { ConfirmButton } from '../components/ConfirmButton.tsx';
import { ErrorLine, QueryNotice } from '../components/QueryNotice.tsx';
import { parseMemberList } from '../lib/admin-forms.ts';

/**
 * The server refused the member list (a name that is no user or token, a disabled account, a
 * repeat): its words, to show beside the members field rather than at the foot of the form.
 */
function membersProblem(error: unknown): string | null {
  return error instanceof ApiError && error.status === 400 && /\bmembers?\b/.test(error.detail)
    ? describeError(error)
    : null;
}

/** Why the members field was refused, right under it and tied to it for screen readers. */
function MembersError(props: { id: string; message: string | null }) {
  if (!props.message) return null;
  return (
    <p id={props.id} className="notice notice-error field-error" role="alert">
      {props.message}
    </p>
  );
}

/** The attributes that mark a field refused and point to the reason. */
const invalidWhen = (message: string | null, errorId: string) =>
  message ? { 'aria-invalid': true, 'aria-describedby': errorId } : {};

/**
 * Care teams decide which clinicians see which patients, and in what order an unanswered alert
 * escalates (the order of the members).
 */
export function CareTeams(props: { canWrite: boolean }) {
  const teams = useCareTeams();
  const list = teams.data?.careTeams ?? [];
  return (
    <section aria-labelledby="teams-title">
      <h1 id="teams-title">Care teams</h1>
      {props.canWrite && <CreateTeam />}
      <QueryNotice isPending={teams.isPending} error={teams.error} what="care teams" />
      {teams.isSuccess && list.length === 0 && <p className="notice">No care teams yet.</p>}
      <div className="adm-cards">
        {list.map((t) => (
          <TeamCard key={t.id} team={t} canWrite={props.canWrite} />
        ))}
      </div>
    </section>
  );
}

function CreateTeam() {
  const create = useCreateCareTeam();
  const [formError, setFormError] = useState<string | null>(null);
  const membersErrorId = useId();
  const serverProblem = membersProblem(create.error);
  const membersMessage = formError ?? serverProblem;
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const members = parseMemberList(String(data.get('members') ?? ''));
    if (!members.ok) return setFormError(members.error);
    setFormError(null);
    create.mutate(
      {
        id: String(data.get('id') ?? '').trim(),
        name: String(data.get('name') ?? '').trim(),
        members: members.value,
      },
      { onSuccess: () => form.reset() },
    );
  };
  return (
    <form className="adm-form" onSubmit={onSubmit} aria-label="Create a care team">
      <h2>Create a care team</h2>
      <div className="adm-fields">
        <label>
          Team id
          <input name="id" required maxLength={64} placeholder="ward-3" autoComplete="off" />
        </label>
        <label>
          Name
          <input name="name" required maxLength={200} placeholder="Cardiology ward 3" />
        </label>
        <div className="adm-wide adm-field">
          <label>
            Members (usernames, in escalation order, separated by commas)
            <input
              name="members"
              maxLength={1400}
              placeholder="dr.lee, nurse.kim"
              {...invalidWhen(membersMessage, membersErrorId)}
            />
          </label>
          <MembersError id={membersErrorId} message={membersMessage} />
        </div>
        <button type="submit" disabled={create.isPending}>
          Create team
        </button>
      </div>
      <ErrorLine error={serverProblem ? null : create.error} />
    </form>
  );
}

function TeamCard(props: { team: CareTeam; canWrite: boolean }) {
  const t = props.team;
  const setMembers = useSetMembers();
  const patient = useTeamPatient();
  const [formError, setFormError] = useState<string | null>(null);
  const membersErrorId = useId();
  // Whatever refused the member list (the form's own check, then the server) is about the field.
  const membersMessage = formError ?? (setMembers.error ? describeError(setMembers.error) : null);
  const onMembers = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const members = parseMemberList(String(new FormData(e.currentTarget).get('members') ?? ''));
    if (!members.ok) return setFormError(members.error);
    setFormError(null);
    setMembers.mutate({ id: t.id, members: members.value });
  };
  const onLink = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const patientId = String(new FormData(form).get('patient') ?? '').trim();
    patient.mutate({ id: t.id, patientId, link: true }, { onSuccess: () => form.reset() });
  };
  return (
    <article className="adm-card" aria-labelledby={`team-${t.id}`}>
      <h2 id={`team-${t.id}`}>
        {t.name} <span className="muted">({t.id})</span>
      </h2>
      <h3>Members, in escalation order</h3>
      {t.members.length === 0 ? (
        <p className="muted">No members: alerts for its patients reach no one.</p>
      ) : (
        <ol aria-label={`Members of ${t.name}`}>
          {t.members.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ol>
      )}
      {props.canWrite && (
        <form className="inline-form" onSubmit={onMembers} aria-label={`Set members of ${t.name}`}>
          <label htmlFor={`members-${t.id}`}>Members</label>
          <input
            id={`members-${t.id}`}
            name="members"
            defaultValue={t.members.join(', ')}
            maxLength={1400}
            {...invalidWhen(membersMessage, membersErrorId)}
          />
          <button type="submit" disabled={setMembers.isPending}>
            Save members
          </button>
          <MembersError id={membersErrorId} message={membersMessage} />
        </form>
      )}
      <h3>Patients</h3>
      {t.patients.length === 0 ? (
        <p className="muted">No patients linked.</p>
      ) : (
        <ul className="adm-plain" aria-label={`Patients of ${t.name}`}>
          {t.patients.map((p) => (
            <li key={p}>
              <code>{p}</code>{' '}
              {props.canWrite && (
                <ConfirmButton
                  label="Unlink"
                  confirmLabel="Confirm unlink"
                  target={`${p} from ${t.name}`}
                  onConfirm={() => patient.mutate({ id: t.id, patientId: p, link: false })}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      {props.canWrite && (
        <form className="inline-form" onSubmit={onLink} aria-label={`Link a patient to ${t.name}`}>
          <label htmlFor={`patient-${t.id}`}>Patient id</label>
          <input
            id={`patient-${t.id}`}
            name="patient"
            required
            maxLength={64}
            pattern="[A-Za-z0-9][A-Za-z0-9._\-]*"
          />
          <button type="submit" disabled={patient.isPending}>
            Link patient
          </button>
        </form>
      )}
      <ErrorLine error={patient.error} />
    </article>
  );
}
