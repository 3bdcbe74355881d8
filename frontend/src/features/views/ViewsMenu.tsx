import { useState } from "react";
import { Dialog } from "../../components/Dialog";
import { ProblemMessage } from "../../components/ProblemMessage";
import type { InboxFilters, Sort } from "../inbox/filters";
import { type SavedView, useCreateView, useDeleteView, useMoveViews, useUpdateView, useViews } from "./api";
import { filtersNotShown, matchingView, paramsForView, reorder, viewQueryFromFilters } from "./mapping";
import styles from "./Views.module.css";

interface Props {
  filters: InboxFilters;
  defaults: InboxFilters;
  sorts: readonly Sort[];
  meId: string | null;
  /** Show these inbox URL parameters (a view's filters). */
  onApply: (params: URLSearchParams) => void;
}

type Editing =
  | { kind: "save" }
  | { kind: "rename"; view: SavedView }
  | { kind: "delete"; view: SavedView }
  | null;

/** The agent's saved views: pick one to apply it; save the current filters as a view; rename,
 * update, make default or delete them. Staff only (customers have no views). */
export function ViewsMenu({ filters, defaults, sorts, meId, onApply }: Props) {
  const views = useViews();
  const create = useCreateView();
  const update = useUpdateView();
  const remove = useDeleteView();
  const move = useMoveViews();
  const [editing, setEditing] = useState<Editing>(null);
  const list = views.data ?? [];
  const current = matchingView(list, filters, meId, defaults);

  function apply(id: string) {
    const view = list.find((v) => v.id === id);
    if (view) onApply(paramsForView(view.query, meId, defaults, sorts));
  }

  function close() {
    setEditing(null);
    create.reset();
    update.reset();
    remove.reset();
  }

  return (
    <div className={styles.views}>
      <label>
        View{" "}
        <select value={current?.id ?? ""} onChange={(e) => apply(e.target.value)} disabled={list.length === 0}>
          <option value="">{list.length === 0 ? "No saved views" : current ? "—" : "Unsaved filters"}</option>
          {list.map((v) => (
            <option key={v.id} value={v.id}>
              {v.name}
              {v.is_default ? " (default)" : ""}
            </option>
          ))}
        </select>
      </label>
      <button type="button" data-variant="secondary" onClick={() => setEditing({ kind: "save" })}>
        Save view…
      </button>
      {views.isError && <ProblemMessage error={views.error} retry={() => void views.refetch()} />}
      {list.length > 0 && (
        <details className={styles.manage}>
          <summary>Manage views</summary>
          <ul className={styles.list} aria-label="Your saved views">
            {list.map((v, i) => {
              const hidden = filtersNotShown(v.query);
              return (
                <li key={v.id}>
                  <span className={styles.name}>
                    {v.name}
                    {v.is_default && <span className={styles.muted}> (opens the inbox)</span>}
                    {hidden.length > 0 && (
                      <span className={styles.muted}> (also filters by {hidden.join(", ")}: not applied here)</span>
                    )}
                  </span>
                  <button type="button" data-variant="secondary" onClick={() => apply(v.id)} aria-label={`Apply ${v.name}`}>
                    Apply
                  </button>
                  <button
                    type="button"
                    data-variant="secondary"
                    aria-label={`Save the current filters to ${v.name}`}
                    disabled={update.isPending}
                    onClick={() => update.mutate({ id: v.id, body: { query: viewQueryFromFilters(filters, meId) } })}
                  >
                    Use current filters
                  </button>
                  <button
                    type="button"
                    data-variant="secondary"
                    aria-label={v.is_default ? `Stop opening the inbox with ${v.name}` : `Open the inbox with ${v.name}`}
                    disabled={update.isPending}
                    onClick={() => update.mutate({ id: v.id, body: { is_default: !v.is_default } })}
                  >
                    {v.is_default ? "Unset default" : "Make default"}
                  </button>
                  <button
                    type="button"
                    data-variant="secondary"
                    aria-label={`Move ${v.name} up`}
                    disabled={i === 0 || move.isPending}
                    onClick={() => move.mutate(reorder(list, v.id, -1))}
                  >
                    ↑
                  </button>
                  <button
                    type="button"
                    data-variant="secondary"
                    aria-label={`Move ${v.name} down`}
                    disabled={i === list.length - 1 || move.isPending}
                    onClick={() => move.mutate(reorder(list, v.id, 1))}
                  >
                    ↓
                  </button>
                  <button
                    type="button"
                    data-variant="secondary"
                    aria-label={`Rename ${v.name}`}
                    onClick={() => setEditing({ kind: "rename", view: v })}
                  >
                    Rename
                  </button>
                  <button
                    type="button"
                    data-variant="danger"
                    aria-label={`Delete ${v.name}`}
                    onClick={() => setEditing({ kind: "delete", view: v })}
                  >
                    Delete
                  </button>
                </li>
              );
            })}
          </ul>
          {update.isError && editing === null && <ProblemMessage error={update.error} />}
          {move.isError && <ProblemMessage error={move.error} />}
        </details>
      )}
      {editing?.kind === "save" && (
        <Dialog
          title="Save these filters as a view"
          confirm={create.isPending ? "Saving…" : "Save view"}
          onCancel={close}
          onConfirm={(data) =>
            create.mutate(
              {
                name: String(data.get("name") ?? ""),
                query: viewQueryFromFilters(filters, meId),
                is_default: data.get("is_default") === "on",
              },
              { onSuccess: close },
            )
          }
        >
          <label>
            Name
            <input name="name" required maxLength={100} autoFocus autoComplete="off" />
          </label>
          <label>
            <input type="checkbox" name="is_default" /> Open the inbox with this view
          </label>
          {create.isError && <ProblemMessage error={create.error} />}
        </Dialog>
      )}
      {editing?.kind === "rename" && (
        <Dialog
          title={`Rename ${editing.view.name}`}
          confirm={update.isPending ? "Saving…" : "Rename"}
          onCancel={close}
          onConfirm={(data) =>
            update.mutate({ id: editing.view.id, body: { name: String(data.get("name") ?? "") } }, { onSuccess: close })
          }
        >
          <label>
            New name
            <input name="name" required maxLength={100} defaultValue={editing.view.name} autoFocus autoComplete="off" />
          </label>
          {update.isError && <ProblemMessage error={update.error} />}
        </Dialog>
      )}
      {editing?.kind === "delete" && (
        <Dialog
          title={`Delete ${editing.view.name}?`}
          confirm="Delete view"
          danger
          onCancel={close}
          onConfirm={() => remove.mutate(editing.view.id, { onSuccess: close })}
        >
          <p>The view is removed for good; the tickets are not touched.</p>
          {remove.isError && <ProblemMessage error={remove.error} />}
        </Dialog>
      )}
    </div>
  );
}
