/**
 * Ctrl-C and SIGTERM for commands that clean up after themselves (try, demo): the first signal aborts the
 * work, and further ones are absorbed until the cleanup is done, so a second Ctrl-C cannot leave
 * containers or a platform behind.
 */
export async function withInterrupt<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => {
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
