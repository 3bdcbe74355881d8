import styles from "./Sla.module.css";

/** A field's message (from the form's own check or the API's problem), tied to its input. */
export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p id={id} className={styles.error}>
      {message}
    </p>
  );
}

/** Props that make an input point at its message and say it is invalid. */
export function invalid(id: string, message: string | undefined) {
  return message ? { "aria-invalid": true as const, "aria-describedby": id } : {};
}
