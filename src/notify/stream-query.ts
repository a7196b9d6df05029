import { VigilError } from '../errors/catalogue.ts';
import { ID_PATTERN } from '../errors/ids.ts';

export const STREAM_TOPICS = ['readings', 'alerts', 'security'] as const;
export type StreamTopic = (typeof STREAM_TOPICS)[number];

/** A dashboard watches a ward, not the hospital: more ids than this is a mistake or a scrape. */
export const MAX_STREAM_PATIENTS = 50;
/** Longer than 50 ids of 64 characters, percent-encoded, can ever need. */
const MAX_QUERY_CHARS = 8192;

export interface StreamQuery {
  /** Patients to narrow to, in first-seen order without repeats; null: every patient allowed. */
  patients: string[] | null;
  /** Topics asked for; null: all the caller's role may see. */
  topics: StreamTopic[] | null;
}

const invalid = (detail: string): never => {
  throw new VigilError('VIGIL_ERR_REQUEST_INVALID', detail);
};

/** Strict percent-decoding: a malformed escape is refused, not passed on half-decoded. */
function decode(name: string, raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return invalid(`${name}: malformed percent-encoding`);
  }
}

const shown = (value: string) => JSON.stringify(value.slice(0, 70));

/**
 * Parses the query of `GET /api/v1/stream` (the text after `?`, or ''):
 * `patient=<id>` repeatable up to 50 times, `topics=readings,alerts,security` at most once.
 * Everything else is refused with a problem naming the parameter, before the upgrade.
 */
export function parseStreamQuery(query: string): StreamQuery {
  if (query.length > MAX_QUERY_CHARS) invalid(`the query is over ${MAX_QUERY_CHARS} characters`);
  const patients: string[] = [];
  let topics: StreamTopic[] | null = null;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode('parameter name', eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(name, pair.slice(eq + 1));
    if (name === 'patient') {
      if (!ID_PATTERN.test(value)) {
        invalid(`patient=${shown(value)} is not a patient id (letters, digits, . _ -; at most 64)`);
      }
      if (!patients.includes(value)) patients.push(value);
      if (patients.length > MAX_STREAM_PATIENTS) {
        invalid(`at most ${MAX_STREAM_PATIENTS} patient parameters; open another stream for more`);
      }
    } else if (name === 'topics') {
      if (topics !== null) invalid('topics may be given once (comma-separated)');
      topics = parseTopics(value);
    } else {
      invalid(`unknown parameter ${shown(name)}; the stream takes patient and topics`);
    }
  }
  return { patients: patients.length > 0 ? patients : null, topics };
}

function parseTopics(value: string): StreamTopic[] {
  const out: StreamTopic[] = [];
  for (const item of value.split(',')) {
    if (!(STREAM_TOPICS as readonly string[]).includes(item)) {
      invalid(`topics: ${shown(item)} is not one of ${STREAM_TOPICS.join(', ')}`);
    }
    if (!out.includes(item as StreamTopic)) out.push(item as StreamTopic);
  }
  return out;
}
