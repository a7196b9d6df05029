import { VigilError } from '../errors/catalogue.ts';

/** A listener of the server, and the settings an operator changes to move it. */
const HOW_TO_MOVE = {
  HTTPS: 'VIGIL_HTTP_PORT / --http-port',
  MQTT: 'VIGIL_MQTT_PORT / --mqtt-port',
} as const;

export interface ListenerAt {
  listener: keyof typeof HOW_TO_MOVE;
  port: number;
  host: string;
}

/**
 * Runs a listen, and turns "address in use" into a line an operator can act on: which port,
 * for what, and how to choose another. Node's own message names neither the listener nor the
 * setting, and a newcomer with a second Vigil (or anything else) on 8443 meets it first.
 */
export async function listenOrExplain<T>(listen: () => Promise<T>, at: ListenerAt): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new VigilError(
      'VIGIL_ERR_PORT_IN_USE',
      `port ${at.port} (${at.listener}) on ${at.host} is in use by another program; stop it, or set ${HOW_TO_MOVE[at.listener]}`,
      { cause: err },
    );
  }
}
