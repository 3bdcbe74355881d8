import { type FormEvent, useState } from "react";
import { ProblemMessage } from "../../components/ProblemMessage";
import { type TicketDetail, useRemoveMetadata, useSetMetadata } from "./api";
import { METADATA_KEY, parseMetadataValue, showMetadataValue } from "./metadata";
import styles from "./Ticket.module.css";

export function MetadataEditor({ ticket, disabled }: { ticket: TicketDetail; disabled: boolean }) {
  const set = useSetMetadata(ticket.id);
  const remove = useRemoveMetadata(ticket.id);
  const [keyError, setKeyError] = useState<string | null>(null);
  const entries = Object.entries(ticket.metadata ?? {}).sort(([a], [b]) => a.localeCompare(b));

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const key = String(data.get("key") ?? "").trim();
    if (!METADATA_KEY.test(key)) {
      setKeyError("Keys are lower-case letters, digits, and . _ - (at most 64; start with a letter or digit).");
      return;
    }
    setKeyError(null);
    await set.mutateAsync({ key, value: parseMetadataValue(String(data.get("value") ?? "")) });
    form.reset();
  }

  return (
    <section aria-labelledby="metadata-title" className={styles.panel}>
      <h2 id="metadata-title">Metadata</h2>
      {entries.length === 0 ? (
        <p className={styles.muted}>No metadata.</p>
      ) : (
        <dl className={styles.metadata}>
          {entries.map(([key, value]) => (
            <div key={key}>
              <dt>{key}</dt>
              <dd>
                <code>{showMetadataValue(value)}</code>{" "}
                {!disabled && (
                  <button type="button" data-variant="secondary" onClick={() => remove.mutate(key)} aria-label={`Remove ${key}`}>
                    Remove
                  </button>
                )}
              </dd>
            </div>
          ))}
        </dl>
      )}
      {!disabled && (
        <form onSubmit={(e) => void submit(e).catch(() => undefined)} className={styles.metadataForm}>
          <label htmlFor="metadata-key">Key</label>
          <input id="metadata-key" name="key" required maxLength={64} aria-invalid={keyError ? true : undefined} aria-describedby={keyError ? "metadata-key-error" : undefined} />
          <label htmlFor="metadata-value">Value (text or JSON)</label>
          <input id="metadata-value" name="value" required />
          <button type="submit" disabled={set.isPending}>Set</button>
        </form>
      )}
      {keyError && <p id="metadata-key-error" role="alert" className={styles.error}>{keyError}</p>}
      {set.isError && <ProblemMessage error={set.error} />}
      {remove.isError && <ProblemMessage error={remove.error} />}
    </section>
  );
}
