/** Wall and process CPU seconds since the call; CPU counts every thread of the process (onnxruntime's included). */
export function startClock(): () => { wallSeconds: number; cpuSeconds: number } {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { wallSeconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  };
}
