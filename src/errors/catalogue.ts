/**
 * The closed catalogue of Vigil errors (after Fastify's FST_ERR_*). Each code is documented,
 * mapped once to an HTTP status and an MQTT 5 PUBACK reason code, and never reused.
 *
 * PUBACK reason codes are limited by MQTT 5 §3.4.2.1: 0x80 unspecified, 0x83 implementation
 * specific, 0x87 not authorized, 0x90 topic name invalid, 0x97 quota exceeded, 0x99 payload
 * format invalid.
 */
export const ERRORS = {
  VIGIL_ERR_INGEST_TOO_LARGE: {
    status: 413,
    mqtt: 0x99,
    title: 'Payload too large',
    meaning: 'A telemetry payload is over 64 KiB.',
  },
  VIGIL_ERR_INGEST_BAD_JSON: {
    status: 400,
    mqtt: 0x99,
    title: 'Payload is not JSON',
    meaning: 'The payload is not UTF-8 JSON.',
  },
  VIGIL_ERR_INGEST_BAD_SHAPE: {
    status: 422,
    mqtt: 0x99,
    title: 'Payload has the wrong shape',
    meaning: 'A field is missing, of the wrong type, or unknown.',
  },
  VIGIL_ERR_INGEST_UNKNOWN_CODE: {
    status: 422,
    mqtt: 0x83,
    title: 'Unknown observation code',
    meaning: 'The LOINC code is not in the registry of known codes.',
  },
  VIGIL_ERR_INGEST_BAD_UNIT: {
    status: 422,
    mqtt: 0x83,
    title: 'Wrong unit for code',
    meaning: 'The UCUM unit is not one accepted for the code.',
  },
  VIGIL_ERR_INGEST_IMPLAUSIBLE: {
    status: 422,
    mqtt: 0x83,
    title: 'Implausible value',
    meaning: 'The value lies outside the physiologically plausible range for the code.',
  },
  VIGIL_ERR_INGEST_REPLAY: {
    status: 409,
    mqtt: 0x83,
    title: 'Replayed sequence number',
    meaning: 'The seq is not greater than the last stored seq for the device.',
  },
  VIGIL_ERR_INGEST_FUTURE: {
    status: 422,
    mqtt: 0x83,
    title: 'Timestamp in the future',
    meaning: 'A timestamp lies more than 5 minutes ahead of the server clock.',
  },
  VIGIL_ERR_INGEST_TOO_OLD: {
    status: 422,
    mqtt: 0x83,
    title: 'Timestamp too old',
    meaning: 'A timestamp lies further in the past than the accepted backfill window.',
  },
  VIGIL_ERR_INGEST_NO_PATIENT: {
    status: 409,
    mqtt: 0x83,
    title: 'Device has no patient',
    meaning: 'Readings from a device not assigned to a patient cannot be stored.',
  },
  VIGIL_ERR_INGEST_STORE_FAILED: {
    status: 503,
    mqtt: 0x80,
    title: 'Storage unavailable',
    meaning: 'Readings could not be committed; the device should retry.',
  },
  VIGIL_ERR_MQTT_TOPIC_DENIED: {
    status: 403,
    mqtt: 0x87,
    title: 'Topic not allowed',
    meaning: 'A device published or subscribed outside its own topics.',
  },
  VIGIL_ERR_MQTT_BAD_TOPIC: {
    status: 400,
    mqtt: 0x90,
    title: 'Topic name invalid',
    meaning: 'The topic is not one of the device topics.',
  },
  VIGIL_ERR_MQTT_QOS2: {
    status: 400,
    mqtt: 0x9b,
    title: 'QoS 2 not supported',
    meaning: 'Vigil accepts QoS 0 and 1 only.',
  },
  VIGIL_ERR_MQTT_TOO_MANY_CONNECTIONS: {
    status: 503,
    mqtt: 0x97,
    title: 'Too many MQTT connections',
    meaning:
      'The gateway holds as many connections as it takes (20,000 by default), or this address already has 256 connections that have not completed CONNECT; the new one is closed before its TLS handshake. Retry later, with backoff.',
  },
  // The two below close the connection: their reason goes in CONNACK or DISCONNECT, never in
  // PUBACK, and a refusal sends the more precise reason its meaning names where there is one.
  VIGIL_ERR_MQTT_PROTOCOL: {
    status: 400,
    mqtt: 0x82,
    title: 'MQTT protocol violation',
    meaning:
      'A device broke the MQTT protocol: a malformed packet (0x81), a first packet other than CONNECT or none in time, a packet a device must not send (a second CONNECT, QoS 2 flow, AUTH), or a SUBSCRIBE or UNSUBSCRIBE with no topic filter. The connection is closed.',
  },
  VIGIL_ERR_MQTT_UNSUPPORTED: {
    status: 400,
    mqtt: 0x83,
    title: 'MQTT feature not offered',
    meaning:
      'A device asked for something MQTT allows but the gateway does not offer: a retained PUBLISH or will (0x9A), a protocol level other than 5 or 3.1.1 (0x84), or a Maximum Packet Size no CONNACK fits in (0x95). QoS 2 has its own code, VIGIL_ERR_MQTT_QOS2.',
  },
  VIGIL_ERR_DEVICE_QUARANTINED: {
    status: 403,
    mqtt: 0x87,
    title: 'Device quarantined',
    meaning: 'The device is quarantined; its data is refused until released.',
  },
  VIGIL_ERR_DEVICE_UNKNOWN: {
    status: 404,
    mqtt: 0x87,
    title: 'Unknown device',
    meaning: 'No device with this id is registered.',
  },
  VIGIL_ERR_DEVICE_EXISTS: {
    status: 409,
    mqtt: 0x80,
    title: 'Device exists',
    meaning: 'A device with this id is already registered.',
  },
  VIGIL_ERR_TLS_NO_CERT: {
    status: 401,
    mqtt: 0x87,
    title: 'Client certificate required',
    meaning: 'The connection presented no client certificate.',
  },
  VIGIL_ERR_TLS_BAD_CERT: {
    status: 401,
    mqtt: 0x87,
    title: 'Client certificate refused',
    meaning: 'The certificate is not issued by the Vigil device CA, expired, or malformed.',
  },
  VIGIL_ERR_TLS_REVOKED: {
    status: 401,
    mqtt: 0x87,
    title: 'Certificate revoked',
    meaning: 'The client certificate has been revoked.',
  },
  VIGIL_ERR_ENROLL_BAD_TOKEN: {
    status: 401,
    mqtt: 0x80,
    title: 'Enrollment token refused',
    meaning: 'The token is unknown, used, expired or for another device.',
  },
  VIGIL_ERR_ENROLL_BAD_CSR: {
    status: 400,
    mqtt: 0x80,
    title: 'CSR refused',
    meaning: 'The CSR is malformed, badly signed, not P-256, or its CN is not the device id.',
  },
  VIGIL_ERR_ENROLL_TOO_OFTEN: {
    status: 429,
    mqtt: 0x97,
    title: 'Renewed too often',
    meaning:
      'A device gets at most 5 certificates in 24 hours, enrolment included: each renewal leaves the old certificate on the revocation list until it expires.',
  },
  VIGIL_ERR_ENROLL_THROTTLED: {
    status: 429,
    mqtt: 0x97,
    title: 'Too many enrolment attempts',
    meaning:
      'Enrolment from this source (an IPv4 address or IPv6 /64), or renewal by this device, is paused for the rest of the minute after 10 refused or pending attempts in it; retry after the Retry-After delay.',
  },
  VIGIL_ERR_OCSP_THROTTLED: {
    status: 429,
    mqtt: 0x97,
    title: 'Too many OCSP answers to sign',
    meaning:
      'This source (an IPv4 address or IPv6 /64) asked the OCSP responder for more than 600 freshly signed answers (requests with a nonce, or not answered from the cache) in a minute; answers already signed are still served. Retry after the Retry-After delay.',
  },
  VIGIL_ERR_AUTH_REQUIRED: {
    status: 401,
    mqtt: 0x87,
    title: 'Authentication required',
    meaning: 'No valid credentials were presented.',
  },
  VIGIL_ERR_AUTH_FORBIDDEN: {
    status: 403,
    mqtt: 0x87,
    title: 'Forbidden',
    meaning: 'The credentials do not grant this action.',
  },
  VIGIL_ERR_AUTH_LOGIN_FAILED: {
    status: 401,
    mqtt: 0x87,
    title: 'Sign-in failed',
    meaning:
      'The username, password or second factor is wrong; the answer is the same whether or not the user exists.',
  },
  VIGIL_ERR_AUTH_THROTTLED: {
    status: 429,
    mqtt: 0x97,
    title: 'Too many sign-in attempts',
    meaning:
      'Sign-in for this account or address is paused after repeated failures; retry after the delay given.',
  },
  VIGIL_ERR_AUTH_CSRF: {
    status: 403,
    mqtt: 0x87,
    title: 'CSRF token missing or wrong',
    meaning:
      'A change authenticated by the session cookie must carry the session CSRF token in X-CSRF-Token.',
  },
  VIGIL_ERR_AUTH_SETUP_REQUIRED: {
    status: 403,
    mqtt: 0x87,
    title: 'Account setup required',
    meaning: 'The user must change the one-time password and enrol a second factor before anything else.',
  },
  VIGIL_ERR_AUTH_PASSWORD_WEAK: {
    status: 422,
    mqtt: 0x80,
    title: 'Password refused',
    meaning:
      'The password is too short, too long, common, breached, or contains the username (NIST SP 800-63B).',
  },
  VIGIL_ERR_USER_UNKNOWN: {
    status: 404,
    mqtt: 0x80,
    title: 'Unknown user',
    meaning: 'No user with this id is registered (answered to administrators only).',
  },
  VIGIL_ERR_USER_EXISTS: {
    status: 409,
    mqtt: 0x80,
    title: 'User exists',
    meaning: 'A user with this username is already registered.',
  },
  VIGIL_ERR_PATIENT_UNKNOWN: {
    status: 404,
    mqtt: 0x80,
    title: 'Unknown patient',
    meaning: 'No patient with this id is registered.',
  },
  VIGIL_ERR_BREAK_GLASS: {
    status: 403,
    mqtt: 0x87,
    title: 'Break-glass access',
    meaning: 'A clinician opened emergency access to a patient outside their care team; review the reason.',
  },
  VIGIL_ERR_EXPORT_PATIENT_REQUEST: {
    status: 403,
    mqtt: 0x87,
    title: 'Export on a patient request',
    meaning:
      "The privacy officer exported a patient's identified record on the patient's own request; review the reason in the audit trail.",
  },
  VIGIL_ERR_CONSENT_UNKNOWN: {
    status: 404,
    mqtt: 0x80,
    title: 'Unknown consent',
    meaning: 'No active consent record with this id exists for the patient.',
  },
  VIGIL_ERR_PATIENT_ERASED: {
    status: 410,
    mqtt: 0x80,
    title: 'Patient erased',
    meaning: 'The patient was erased: their data key is destroyed and their data can never be read again.',
  },
  VIGIL_ERR_PATIENT_EXISTS: {
    status: 409,
    mqtt: 0x80,
    title: 'Patient exists',
    meaning: 'A patient with this id is already registered.',
  },
  VIGIL_ERR_REQUEST_INVALID: {
    status: 400,
    mqtt: 0x80,
    title: 'Invalid request',
    meaning: 'A parameter, query or body field failed validation.',
  },
  VIGIL_ERR_REQUEST_MEDIA_TYPE: {
    status: 415,
    mqtt: 0x80,
    title: 'Unsupported media type',
    meaning: 'The request body has a Content-Type the route does not read (the API reads application/json).',
  },
  VIGIL_ERR_ALERT_UNKNOWN: {
    status: 404,
    mqtt: 0x80,
    title: 'Unknown alert',
    meaning: 'No alert with this id exists.',
  },
  VIGIL_ERR_ALERT_STATE: {
    status: 409,
    mqtt: 0x80,
    title: 'Alert not in a state for this action',
    meaning: 'The alert was already acknowledged or resolved (e.g. a resolved alert cannot be snoozed).',
  },
  VIGIL_ERR_CARE_TEAM_UNKNOWN: {
    status: 404,
    mqtt: 0x80,
    title: 'Unknown care team',
    meaning: 'No care team with this id exists.',
  },
  VIGIL_ERR_CARE_TEAM_EXISTS: {
    status: 409,
    mqtt: 0x80,
    title: 'Care team exists',
    meaning: 'A care team with this id already exists.',
  },
  VIGIL_ERR_DATA_QUESTIONABLE: {
    status: 422,
    mqtt: 0x83,
    title: 'Questionable readings',
    meaning:
      'A device sent readings that jump implausibly, flat-line, or carry a clock far off; they are stored, marked questionable, and raise no urgent alert on their own.',
  },
  VIGIL_ERR_WEBHOOK_URL: {
    status: 422,
    mqtt: 0x80,
    title: 'Webhook URL refused',
    meaning:
      'A webhook URL must be https (http only to loopback when configured), carry no credentials, and not point at a link-local or unspecified address.',
  },
  VIGIL_ERR_WEBHOOK_UNKNOWN: {
    status: 404,
    mqtt: 0x80,
    title: 'Unknown webhook',
    meaning: 'No webhook subscription with this id exists.',
  },
  VIGIL_ERR_WEBHOOK_DELIVERY_UNKNOWN: {
    status: 404,
    mqtt: 0x80,
    title: 'Unknown webhook delivery',
    meaning: 'No webhook delivery with this id exists.',
  },
  VIGIL_ERR_WEBHOOK_DELIVERY_STATE: {
    status: 409,
    mqtt: 0x80,
    title: 'Webhook delivery not dead-lettered',
    meaning: 'Only a dead-lettered delivery can be retried by hand; a pending one is still being tried.',
  },
  VIGIL_ERR_STREAM_UPGRADE_REQUIRED: {
    status: 426,
    mqtt: 0x80,
    title: 'WebSocket upgrade required',
    meaning: 'GET /api/v1/stream is a WebSocket (RFC 6455); open it with an Upgrade request.',
  },
  VIGIL_ERR_STREAM_ORIGIN: {
    status: 403,
    mqtt: 0x87,
    title: 'Cross-origin stream refused',
    meaning:
      'A stream authenticated by the session cookie must come from a page of this server (Origin equal to its own); this stops cross-site WebSocket hijacking.',
  },
  VIGIL_ERR_STREAM_OVERLOADED: {
    status: 503,
    mqtt: 0x97,
    title: 'Too many streams',
    meaning: 'The server holds as many live streams as it is configured for; retry later.',
  },
  VIGIL_ERR_NOT_FOUND: { status: 404, mqtt: 0x80, title: 'Not found', meaning: 'No such resource or route.' },
  VIGIL_ERR_CONFIG_INVALID: {
    status: 500,
    mqtt: 0x80,
    title: 'Invalid configuration',
    meaning: 'A configuration value is invalid.',
  },
  VIGIL_ERR_PORT_IN_USE: {
    status: 500,
    mqtt: 0x80,
    title: 'Port in use',
    meaning:
      'The server could not listen: another program holds its HTTPS or MQTT port on that host. Stop it, or move Vigil with VIGIL_HTTP_PORT / --http-port or VIGIL_MQTT_PORT / --mqtt-port.',
  },
  VIGIL_ERR_CRYPTO_OPEN_FAILED: {
    status: 500,
    mqtt: 0x80,
    title: 'Sealed value did not open',
    meaning: 'Ciphertext was altered, moved to another row, or sealed under another key.',
  },
  VIGIL_ERR_POSTURE_BAD_SBOM: {
    status: 422,
    mqtt: 0x80,
    title: 'SBOM refused',
    meaning: 'The SBOM is not valid CycloneDX 1.4-1.6 or SPDX 2.3; the detail says where.',
  },
  VIGIL_ERR_POSTURE_BAD_ADVISORY: {
    status: 422,
    mqtt: 0x80,
    title: 'Advisory refused',
    meaning: 'An OSV, CSAF 2.0, KEV or EPSS document is malformed; the detail says where.',
  },
  VIGIL_ERR_POSTURE_UNKNOWN_MODEL: {
    status: 404,
    mqtt: 0x80,
    title: 'Unknown device model',
    meaning: 'No device model with this name is in the posture inventory.',
  },
  VIGIL_ERR_AUDIT_TAMPERED: {
    status: 500,
    mqtt: 0x80,
    title: 'Audit trail tampered with',
    meaning:
      'The audit trail no longer holds the checkpoint its anchor file names; the server stops signing checkpoints until it is restored.',
  },
  VIGIL_ERR_INTERNAL: {
    status: 500,
    mqtt: 0x80,
    title: 'Internal error',
    meaning: 'An unexpected failure; see the server log.',
  },
} as const satisfies Record<string, { status: number; mqtt: number; title: string; meaning: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The one error class Vigil throws on purpose; `detail` must never carry patient data. */
export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;
  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.name = 'VigilError';
    this.code = code;
    this.detail = detail;
  }
  get status(): number {
    return ERRORS[this.code].status;
  }
  get mqttReasonCode(): number {
    return ERRORS[this.code].mqtt;
  }
  get title(): string {
    return ERRORS[this.code].title;
  }
}

export function isVigilError(e: unknown): e is VigilError {
  return e instanceof VigilError;
}

/** RFC 9457 problem document for an error; the `type` URI names the catalogue entry. */
export function toProblem(e: VigilError, instance?: string): Record<string, unknown> {
  return {
    type: `https://vigil.dev/errors/${e.code}`,
    title: e.title,
    status: e.status,
    detail: e.detail,
    code: e.code,
    ...(instance === undefined ? {} : { instance }),
  };
}
