import { ProblemMessage } from "../../components/ProblemMessage";
import { formatDateTime } from "../../lib/format";
import { useRecompute } from "./api";
import styles from "./Sla.module.css";

/** The progress of the recomputation a save queued: open tickets' deadlines, live. */
export function RecomputeProgress({ id }: { id: string }) {
  const run = useRecompute(id);
  if (run.isError) return <ProblemMessage error={run.error} />;
  const r = run.data;
  const label =
    !r || r.state === "queued"
      ? "Deadlines of open tickets: queued for recomputation…"
      : r.state === "running"
        ? `Recomputing deadlines of open tickets: ${r.done} of ${r.total}`
        : r.state === "done"
          ? `Deadlines recomputed: ${r.total} open ticket${r.total === 1 ? "" : "s"} (finished ${formatDateTime(r.finished_at)}).`
          : "The recomputation failed; the worker's log says why. Saving again retries it.";
  return (
    <div className={styles.progress}>
      <progress
        aria-label="Recomputation of deadlines"
        max={Math.max(r?.total ?? 0, 1)}
        value={r?.state === "done" ? Math.max(r.total, 1) : (r?.done ?? 0)}
      />
      <p role="status">{label}</p>
    </div>
  );
}
