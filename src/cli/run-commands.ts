import type { Command } from 'commander';
import { SCENARIOS, type Scenario } from '../../sim/signals/types.ts';
import { VigilError } from '../errors/catalogue.ts';
import { type CommonFlags, intOption, numberOption, withCommon } from './context.ts';
import { Lifetime } from './lifetime.ts';
import type { DemoFlags, ServeFlags, SimFlags } from './run-actions.ts';

type RunActions = typeof import('./run-actions.ts');

/**
 * A tick uploads what a device measured since the last one, and nothing when it has no news:
 * only an oximeter measures every second, so a fleet sends well under devices x rate.
 */
const RATE_HELP =
  'at most this many uploads per second per device; each sends only what it measured since its last (oximeter every 1 s, thermometer 1 min, CGM 5 min, BP cuff 15 min)';
const HTTP_PORT_HELP = 'HTTPS port (default 8443, or VIGIL_HTTP_PORT)';
const MQTT_PORT_HELP = 'MQTT over TLS port (default 8883, or VIGIL_MQTT_PORT)';

function scenarioOption(value: string): Scenario {
  if (!(SCENARIOS as readonly string[]).includes(value)) {
    throw new VigilError(
      'VIGIL_ERR_REQUEST_INVALID',
      `--scenario ${value.slice(0, 30)} is unknown; use one of ${SCENARIOS.join(', ')}`,
    );
  }
  return value as Scenario;
}

/**
 * The action of a long-running command (serve, sim, demo). Its Lifetime holds SIGINT and SIGTERM
 * before run-actions.ts, with the server and the simulator, is loaded: that load is start-up too,
 * and a signal during it stops the command as one during any later step does.
 */
function longRunning<O>(startUp: (actions: RunActions, life: Lifetime, o: O) => Promise<void>) {
  return async (o: O): Promise<void> => {
    const life = new Lifetime();
    await life.start(async () => {
      const actions = await import('./run-actions.ts');
      life.signal.throwIfAborted();
      await startUp(actions, life, o);
    });
  };
}

export function registerRunCommands(program: Command): void {
  withCommon(
    program
      .command('init')
      .description('create a data dir: database, master key, device CA, first admin user and token'),
  ).action(async (o: CommonFlags) => (await import('./run-actions.ts')).init(o));

  withCommon(program.command('serve').description('run the platform (HTTPS API and MQTT broker)'))
    .option('--http-port <port>', HTTP_PORT_HELP)
    .option('--mqtt-port <port>', MQTT_PORT_HELP)
    .action(longRunning((actions, life, o: ServeFlags) => actions.serve(life, o)));

  withCommon(
    program
      .command('sim')
      .description('run simulated devices over the real protocol against a running Vigil'),
  )
    .option('--devices <n>', 'number of devices', intOption('--devices', 1, 10_000), 8)
    .option('--rate <r>', RATE_HELP, numberOption('--rate', 0.001, 100), 1)
    .option('--scenario <name>', `bend the signals: ${SCENARIOS.join(', ')}`, scenarioOption)
    .action(longRunning((actions, life, o: SimFlags) => actions.sim(life, o)));

  withCommon(
    program.command('demo').description('init if needed, serve, and run a simulated fleet against it'),
  )
    .option('--devices <n>', 'number of simulated devices', intOption('--devices', 1, 1000), 12)
    .option('--rate <r>', RATE_HELP, numberOption('--rate', 0.001, 100), 1)
    .option('--scenario <name>', `bend the signals: ${SCENARIOS.join(', ')}`, scenarioOption)
    .option('--http-port <port>', HTTP_PORT_HELP)
    .option('--mqtt-port <port>', MQTT_PORT_HELP)
    .action(longRunning((actions, life, o: DemoFlags) => actions.demo(life, o)));
}
