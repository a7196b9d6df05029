import { isVigilError, VigilError } from '../errors/catalogue.ts';

/** FHIR R4 OperationOutcome (http://hl7.org/fhir/R4/operationoutcome.html). */
export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<{
    severity: 'fatal' | 'error' | 'warning' | 'information';
    code: string;
    details?: { coding?: Array<{ system: string; code: string; display?: string }>; text?: string };
    diagnostics?: string;
  }>;
}

/** Vigil's error codes, named in OperationOutcome.issue.details.coding. */
export const VIGIL_ERROR_SYSTEM = 'https://vigil.dev/errors';

/** The FHIR issue-type (http://hl7.org/fhir/R4/valueset-issue-type.html) for an HTTP status. */
function issueType(e: VigilError): string {
  if (e.code === 'VIGIL_ERR_PATIENT_EXISTS' || e.code === 'VIGIL_ERR_DEVICE_EXISTS') return 'duplicate';
  switch (e.status) {
    case 400:
      return 'invalid';
    case 401:
      return 'login';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 409:
      return 'conflict';
    case 410:
      return 'deleted';
    case 413:
      return 'too-long';
    case 415:
      return 'not-supported';
    case 422:
      return 'processing';
    default:
      return e.status >= 500 ? 'exception' : 'invalid';
  }
}

export function toOperationOutcome(e: VigilError): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: issueType(e),
        details: { coding: [{ system: VIGIL_ERROR_SYSTEM, code: e.code, display: e.title }], text: e.detail },
      },
    ],
  };
}

/** Maps anything thrown under /fhir/R4 to the catalogue (the same rules as the REST API). */
export function asVigilError(error: unknown): VigilError {
  if (isVigilError(error)) return error;
  const e = error as { validation?: unknown; statusCode?: number; message?: string; code?: string };
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new VigilError('VIGIL_ERR_INGEST_TOO_LARGE', 'request body too large');
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new VigilError('VIGIL_ERR_REQUEST_MEDIA_TYPE', 'send the resource as application/fhir+json');
  if (
    e.validation !== undefined ||
    (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500)
  ) {
    return new VigilError('VIGIL_ERR_REQUEST_INVALID', (e.message ?? 'invalid request').slice(0, 300));
  }
  return new VigilError('VIGIL_ERR_INTERNAL', 'an unexpected error occurred; see the server log', {
    cause: error,
  });
}
