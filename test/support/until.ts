/**
 * Asks `probe` every 25 ms until it answers something other than undefined, and returns that;
 * gives up after 30 s naming `what`. For effects that happen in the background (deliveries,
 * retries, e-mails).
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
