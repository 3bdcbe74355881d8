import { ApiError } from "../lib/api/problem";
import styles from "./ui.module.css";

/** Any failure as a readable message, with the request id the logs and audit know it by. */
export function ProblemMessage({ error, retry }: { error: unknown; retry?: () => void }) {
  const err = error instanceof ApiError ? error : null;
  const message = err?.detail ?? (error instanceof Error ? error.message : "Something went wrong.");
  return (
    <div role="alert" className={styles.problem}>
      <strong>{err?.title ?? "Error"}</strong>
      <span> {message}</span>
      {err?.errors && err.errors.length > 0 && (
        <ul>
          {err.errors.map((item, i) => (
            <li key={i}>
              {item.loc.slice(1).join(".")}: {item.msg}
            </li>
          ))}
        </ul>
      )}
      {err?.requestId && <small className={styles.muted}> Request id: {err.requestId}</small>}
      {retry && (
        <button type="button" className={styles.linkButton} onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}
