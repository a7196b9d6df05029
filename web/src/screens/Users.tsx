import { type FormEvent, useState } from 'react';
import { useCreateUser, useResetUser, useUpdateUser, useUsers } from '../api/admin-queries.ts';
import type { UserView } from '../api/admin-types.ts';
import { ConfirmButton } from '../components/ConfirmButton.tsx';
import { OneTimeSecret } from '../components/OneTimeSecret.tsx';
import { ErrorLine, QueryNotice } from '../components/QueryNotice.tsx';
import { StatusChip } from '../components/StatusChip.tsx';
import { dayOf } from '../lib/time.ts';

/** The roles of src/access/roles.ts, in the order an administrator most often picks them. */
export const ROLES = ['clinician', 'security', 'auditor', 'admin', 'patient', 'integration'] as const;

interface Shown {
  label: string;
  username: string;
  value: string;
}

/** Who may sign in, with which role; administrators add, change, disable and reset accounts. */
export function Users(props: { meId: string; canWrite: boolean }) {
  const users = useUsers();
  const [shown, setShown] = useState<Shown | null>(null);
  const list = users.data?.users ?? [];
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users and roles</h1>
      {shown && (
        <OneTimeSecret label="One-time password" value={shown.value} onDone={() => setShown(null)}>
          <p>
            For <strong>{shown.username}</strong>: they sign in with it once, choose their own password and
            set up their authenticator app.
          </p>
        </OneTimeSecret>
      )}
      {props.canWrite && <CreateUser onCreated={setShown} />}
      <QueryNotice isPending={users.isPending} error={users.error} what="users" />
      {list.length > 0 && (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Second factor</th>
              <th scope="col">Account</th>
              {props.canWrite && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {list.map((u) => (
              <UserRow
                key={u.id}
                user={u}
                isMe={u.id === props.meId}
                canWrite={props.canWrite}
                onSecret={setShown}
              />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function CreateUser(props: { onCreated: (s: Shown) => void }) {
  const create = useCreateUser();
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const username = String(data.get('username') ?? '').trim();
    const role = String(data.get('role') ?? '');
    const email = String(data.get('email') ?? '').trim();
    create.mutate(
      { username, role, ...(email ? { email } : {}) },
      {
        onSuccess: (r) => {
          form.reset();
          props.onCreated({
            label: 'One-time password',
            username: r.user.username,
            value: r.oneTimePassword,
          });
        },
      },
    );
  };
  return (
    <form className="adm-form" onSubmit={onSubmit} aria-label="Add a user">
      <h2>Add a user</h2>
      <div className="adm-fields">
        <label>
          Username
          <input name="username" required maxLength={64} autoComplete="off" />
        </label>
        <label>
          Role
          <select name="role" defaultValue="clinician">
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <label>
          E-mail for alerts (optional)
          <input name="email" type="email" maxLength={254} autoComplete="off" />
        </label>
        <button type="submit" disabled={create.isPending}>
          Add user
        </button>
      </div>
      <ErrorLine error={create.error} />
    </form>
  );
}

function UserRow(props: { user: UserView; isMe: boolean; canWrite: boolean; onSecret: (s: Shown) => void }) {
  const u = props.user;
  const update = useUpdateUser();
  const reset = useResetUser();
  const [role, setRole] = useState(u.role);
  const doReset = (what: 'password' | 'mfa') =>
    reset.mutate(
      { id: u.id, what },
      {
        onSuccess: (r) =>
          props.onSecret({ label: 'One-time password', username: u.username, value: r.oneTimePassword }),
      },
    );
  return (
    <tr>
      <th scope="row">
        {u.username}
        {props.isMe && <span className="muted"> (you)</span>}
        {u.email && <div className="muted">{u.email}</div>}
        <div className="muted">since {dayOf(u.createdAt)}</div>
      </th>
      <td>
        {props.canWrite && !props.isMe ? (
          <span className="inline-form">
            <label className="sr-only" htmlFor={`role-${u.id}`}>
              Role of {u.username}
            </label>
            <select id={`role-${u.id}`} value={role} onChange={(e) => setRole(e.target.value)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            {role !== u.role && (
              <button
                type="button"
                onClick={() => update.mutate({ id: u.id, role })}
                disabled={update.isPending}
              >
                Save role <span className="sr-only">of {u.username}</span>
              </button>
            )}
          </span>
        ) : (
          u.role
        )}
      </td>
      <td>
        {u.totpEnrolled ? (
          <StatusChip tone="ok" label="Authenticator set up" />
        ) : (
          <StatusChip tone="warning" label="Not set up" />
        )}
      </td>
      <td>
        {u.disabled ? <StatusChip tone="danger" label="Disabled" /> : <StatusChip tone="ok" label="Active" />}
        {u.mustChangePassword && <StatusChip tone="info" label="Must change password" />}
      </td>
      {props.canWrite && (
        <td>
          {props.isMe ? (
            <span className="muted">Another administrator changes your account.</span>
          ) : (
            <span className="adm-actions">
              <ConfirmButton
                label={u.disabled ? 'Enable' : 'Disable'}
                confirmLabel={u.disabled ? 'Confirm enable' : 'Confirm disable'}
                target={u.username}
                danger={!u.disabled}
                disabled={update.isPending}
                onConfirm={() => update.mutate({ id: u.id, disabled: !u.disabled })}
              />
              <ConfirmButton
                label="Reset password"
                confirmLabel="Confirm password reset"
                target={u.username}
                disabled={reset.isPending}
                onConfirm={() => doReset('password')}
              />
              <ConfirmButton
                label="Reset MFA"
                confirmLabel="Confirm MFA reset"
                target={u.username}
                disabled={reset.isPending}
                onConfirm={() => doReset('mfa')}
              />
            </span>
          )}
          <ErrorLine error={update.error ?? reset.error} />
        </td>
      )}
    </tr>
  );
}
