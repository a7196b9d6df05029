import { type FormEvent, useState } from 'react';
import { useAssignDevice } from '../api/admin-queries.ts';
import { parseId } from '../lib/admin-forms.ts';
import { ErrorLine, FormError } from './QueryNotice.tsx';

/**
 * Who the device measures from now on. Readings already stored stay with the patient who wore
 * the device then, so a change never moves data between patients.
 */
export function AssignPatient(props: { deviceId: string; current: string | null }) {
  const assign = useAssignDevice();
  const [formError, setFormError] = useState<string | null>(null);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const id = parseId(String(new FormData(form).get('patient') ?? ''), 'The patient id');
    if (!id.ok) return setFormError(id.error);
    setFormError(null);
    assign.mutate({ id: props.deviceId, patientId: id.value }, { onSuccess: () => form.reset() });
  };
  return (
    <article className="adm-card" aria-labelledby="assign-title">
      <h2 id="assign-title">Patient</h2>
      <p className="muted">
        {props.current ? `Measures ${props.current} now.` : 'Not assigned to a patient.'} Earlier readings
        stay with whoever wore it then.
      </p>
      <form className="inline-form" onSubmit={onSubmit} aria-label="Assign this device to a patient">
        <label htmlFor="assign-patient">Patient id</label>
        <input id="assign-patient" name="patient" required maxLength={64} autoComplete="off" />
        <button type="submit" disabled={assign.isPending}>
          Assign from now
        </button>
      </form>
      <FormError message={formError} />
      {assign.isSuccess && (
        <p className="notice" role="status">
          Assigned to {assign.data.patientId}.
        </p>
      )}
      <ErrorLine error={assign.error} />
    </article>
  );
}
