import styles from "./Tags.module.css";

/** A ticket's tags (and team) as small chips, e.g. under an inbox row's title. */
export function TagChips({ tags, team }: { tags: readonly string[]; team?: string | null }) {
  if (tags.length === 0 && !team) return null;
  return (
    <ul className={styles.chips} aria-label="Tags">
      {team && (
        <li className={styles.team}>
          <span className="visually-hidden">Team: </span>
          {team}
        </li>
      )}
      {tags.map((tag) => (
        <li key={tag}>{tag}</li>
      ))}
    </ul>
  );
}
