import styles from "./ui.module.css";

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <p role="status" aria-live="polite" className={styles.loading}>
      {label}…
    </p>
  );
}

export function EmptyState({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <div className={styles.empty} role="status">
      <p>
        <strong>{title}</strong>
      </p>
      {children}
    </div>
  );
}
