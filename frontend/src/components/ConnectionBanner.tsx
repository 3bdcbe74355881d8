import { useQueryClient } from "@tanstack/react-query";
import { reportConnection, useConnection } from "../lib/connection";
import styles from "./ui.module.css";

/** Offline / server-error banner with a retry that refetches what the page shows. */
export function ConnectionBanner() {
  const connection = useConnection();
  const client = useQueryClient();
  if (connection.state === "ok") return null;
  return (
    <div role="alert" className={styles.banner}>
      <span>{connection.detail}</span>
      <button
        type="button"
        onClick={() => {
          if (!navigator.onLine) {
            // Queries pause while the browser is offline: say so rather than pretend to retry.
            reportConnection({ state: "offline", detail: "Still offline. Check your connection." });
            return;
          }
          reportConnection({ state: "ok" });
          void client.refetchQueries({ type: "active" });
        }}
      >
        Retry
      </button>
    </div>
  );
}
