// Calling a library hook: its answer within a time limit and of the expected shape, or an error
// the caller turns into a denial. A hook that throws synchronously is caught the same way.

export async function askHook<T>(
  call: () => T | Promise<T>,
  isAnswer: (value: unknown) => value is T,
  timeoutMs: number,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = await Promise.race([
      Promise.resolve().then(call),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        timer.unref(); // a hung hook must not keep a closed broker's process alive
      }),
    ]);
    if (!isAnswer(answer)) throw new Error(`answered ${JSON.stringify(answer)}, not allow / deny / defer`);
    return answer;
  } finally {
    clearTimeout(timer);
  }
}
