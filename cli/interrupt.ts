/**
 * SIGINT/SIGTERM while `fn` runs abort its signal: the core finishes the batches in flight, saves them and throws
 * InterruptedError (exit 130/143 with a line on how to resume). A second signal quits at once; what was saved stays.
 */
export async function whileInterruptible<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  stream: NodeJS.WritableStream = process.stderr,
): Promise<T> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(signal === 'SIGTERM' ? 143 : 130);
    stream.write(`\ncnn-codes: ${signal}: finishing the batches in flight and saving them (again to quit at once)\n`);
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
