/** What a Lifetime needs of the process; tests pass a stand-in. */
export interface ProcessLike {
  on(event: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
  readonly stderr: { write(text: string): unknown };
}

/**
 * The life of a long-running command (serve, sim, demo), from its first line to its exit.
 * The SIGINT and SIGTERM handlers are in place before any start-up work: Node's default one
 * would kill the process while devices enrol or the fleet connects, with the server open and
 * the store not closed (its WAL left behind). Start-up registers how to close each thing it
 * opens (onStop); a signal aborts `signal`, start-up gives up at its next step, and what was
 * opened closes, last opened first. A stop on request, during start-up or after, exits 0; a
 * stop that fails says so in one line and exits 1; a second signal exits at once with
 * 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as shells report it.
 */
export class Lifetime {
  private readonly aborter = new AbortController();
  private readonly closers: Array<{ what: string; close: () => Promise<void> | void }> = [];
  /** Settles once start-up has returned or given up, with its error if it failed. */
  private startUp: Promise<{ error: unknown } | undefined> = Promise.resolve(undefined);
  private closing: Promise<string[]> | undefined;
  private isStopping = false;

  constructor(private readonly proc: ProcessLike = process) {
    const onSignal = (signal: NodeJS.Signals) => this.onSignal(signal);
    proc.on('SIGINT', onSignal);
    proc.on('SIGTERM', onSignal);
  }

  /** Aborted by the first signal: start-up checks it between steps and passes it on. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /** Registers how to close something start-up opened (`what` names it in a failure). */
  onStop(what: string, close: () => Promise<void> | void): void {
    this.closers.push({ what, close });
  }

  /**
   * Runs start-up. When it fails on its own, what it opened is closed and its error goes on to
   * the caller (main prints it in one line); when a signal cut it short, the stop finishes.
   */
  async start(startUp: () => Promise<void>): Promise<void> {
    this.startUp = startUp().then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    const failed = await this.startUp;
    if (failed === undefined || this.isStopping) return;
    await this.closeAll();
    throw failed.error;
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.isStopping) {
      this.proc.exit(signal === 'SIGTERM' ? 143 : 130);
      return;
    }
    this.isStopping = true;
    this.proc.stderr.write('\nstopping…\n');
    this.aborter.abort();
    void this.stop();
  }

  /** Never rejects: an error here would be an unhandled rejection, a stack trace and exit 1. */
  private async stop(): Promise<void> {
    const problems: string[] = [];
    try {
      // Closing under a start-up step still at work would fail it midway: wait for it to give up.
      const failed = await this.startUp;
      if (failed !== undefined && !this.isInterruption(failed.error))
        problems.push(`start-up failed: ${firstLine(failed.error)}`);
      problems.push(...(await this.closeAll()));
    } catch (e) {
      problems.push(firstLine(e));
    }
    if (problems.length === 0) {
      this.proc.exit(0);
      return;
    }
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
    this.proc.stderr.write(`vigil: ${problems[0]}${more}\n`);
    this.proc.exit(1);
  }

  private isInterruption(error: unknown): boolean {
    return error === this.signal.reason || (error instanceof Error && error.name === 'AbortError');
  }

  /**
   * Closes everything registered, last first, going on past a failure; says what failed. Once:
   * a signal may come while a failed start-up is still closing what it opened.
   */
  private closeAll(): Promise<string[]> {
    this.closing ??= this.closeEach();
    return this.closing;
  }

  private async closeEach(): Promise<string[]> {
    const problems: string[] = [];
    for (const { what, close } of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (e) {
        problems.push(`could not stop ${what}: ${firstLine(e)}`);
      }
    }
    return problems;
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
