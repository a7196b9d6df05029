import { type FormEvent, useState } from 'react';
import { useAddDevice } from '../api/admin-queries.ts';
import type { EnrollmentToken } from '../api/admin-types.ts';
import { Link } from '../components/Link.tsx';
import { OneTimeSecret } from '../components/OneTimeSecret.tsx';
import { ErrorLine, FormError } from '../components/QueryNotice.tsx';
import { enrolCommand, parseId } from '../lib/admin-forms.ts';
import { exactTime } from '../lib/time.ts';

/** The token, its expiry and the command to run on the device; used here and on the device page. */
export function EnrollmentTokenPanel(props: {
  deviceId: string;
  enrollment: EnrollmentToken;
  onDone: () => void;
}) {
  const { deviceId, enrollment } = props;
  return (
    <OneTimeSecret label="Enrollment token" value={enrollment.token} onDone={props.onDone}>
      <p>
        Valid once, until <strong>{exactTime(enrollment.expires)}</strong>. On the device, with Vigil's{' '}
        <code>ca.crt</code> beside it, run:
      </p>
      <pre className="adm-command" data-testid="enrol-command">
        {enrolCommand(deviceId, enrollment.token, window.location.origin)}
      </pre>
    </OneTimeSecret>
  );
}

/** Register a device (optionally for a patient) and hand its one-time token to whoever sets it up. */
export function EnrolDevice() {
  const add = useAddDevice();
  const [done, setDone] = useState<{ deviceId: string; enrollment: EnrollmentToken } | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const onSubmit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const id = parseId(String(data.get('id') ?? ''), 'The device id');
    const patientText = String(data.get('patient') ?? '').trim();
    const patient = patientText === '' ? null : parseId(patientText, 'The patient id');
    if (!id.ok) return setFormError(id.error);
    if (patient && !patient.ok) return setFormError(patient.error);
    setFormError(null);
    add.mutate(
      {
        id: id.value,
        model: String(data.get('model') ?? '').trim(),
        serial: String(data.get('serial') ?? '').trim(),
        ...(patient?.ok ? { patientId: patient.value } : {}),
      },
      {
        onSuccess: (r) => {
          form.reset();
          setDone({ deviceId: r.device.id, enrollment: r.enrollment });
        },
      },
    );
  };
  return (
    <section aria-labelledby="enrol-title">
      <h1 id="enrol-title">Enrol a device</h1>
      {done && (
        <>
          <p className="notice" role="status">
            Device <Link to={`/devices/${encodeURIComponent(done.deviceId)}`}>{done.deviceId}</Link> is
            registered. It connects once it has enrolled with this token.
          </p>
          <EnrollmentTokenPanel
            deviceId={done.deviceId}
            enrollment={done.enrollment}
            onDone={() => setDone(null)}
          />
        </>
      )}
      <form className="adm-form" onSubmit={onSubmit} aria-label="Register a device">
        <div className="adm-fields">
          <label>
            Device id (becomes the certificate name)
            <input name="id" required maxLength={64} autoComplete="off" placeholder="ox-ward3-07" />
          </label>
          <label>
            Model
            <input name="model" required maxLength={128} placeholder="PulseOx 3" />
          </label>
          <label>
            Serial number
            <input name="serial" required maxLength={128} autoComplete="off" />
          </label>
          <label>
            Patient id (optional: measures this patient from now on)
            <input name="patient" maxLength={64} autoComplete="off" />
          </label>
          <button type="submit" disabled={add.isPending}>
            Register and get token
          </button>
        </div>
        <FormError message={formError} />
        <ErrorLine error={add.error} />
      </form>
    </section>
  );
}
