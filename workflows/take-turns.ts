/**
 * Message handlers of one workflow take turns: each body starts when the previous one has settled,
 * so two updates never interleave their activities. Deterministic (plain promise chaining).
 */
export function takeTurns(): <T>(fn: () => Promise<T>) => Promise<T> {
  let turn: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    // `turn` never rejects (see below), so fn always runs after the previous body, success or not.
    const run = turn.then(fn);
    turn = run.catch(() => undefined);
    return run;
  };
}
