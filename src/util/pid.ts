// Whether a process id is running on this host: signal 0 checks without sending anything. EPERM means the
// process exists under another user, so it counts as alive; only ESRCH says it is gone.
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
