/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results in input order.
 *
 * After a failure no new item starts, and the calls already running are let finish before the
 * first error is thrown. A step's sibling work (a push, a save) therefore never keeps writing
 * units into the state file after the step has been reported failed, and what it finished is
 * recorded, so a resume does not redo it.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}
