// Wall time as people read it in a progress line or an estimate: "8.4 s", "12m 30s", "3h 05m".

export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = ms / 1000;
  // Under a minute the tenths matter (a tiny run, one timed update); above, whole seconds are enough.
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  const p2 = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h}h ${p2(m)}m` : `${m}m ${p2(sec)}s`;
}
