import { type FormEvent, useState } from "react";
import { Dialog } from "../../components/Dialog";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { formatDateTime, humanize } from "../../lib/format";
import { useDocumentTitle } from "../../lib/title";
import { useMe } from "../auth/api";
import {
  type ApiKey,
  type ApiKeyCreated,
  keyLabel,
  keyState,
  replacedKeys,
  type Scope,
  timeUntil,
  useCreateKey,
  useKeys,
  useRevokeKey,
  useRotateKey,
} from "./api";
import styles from "../users/Admin.module.css";

/** The once-shown secret of a new or rotated key, with a copy button. */
function SecretOnce({ created, onDone }: { created: ApiKeyCreated; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div role="alert" className={styles.secret}>
      <p>
        <strong>Copy the key for “{created.name}” now: it is shown only once.</strong>
      </p>
      <label htmlFor="new-key-secret">New API key</label>
      <div className={styles.row}>
        <input id="new-key-secret" readOnly value={created.key} onFocus={(e) => e.target.select()} className={styles.mono} />
        <button
          type="button"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(created.key);
              setCopied(true);
            } catch {
              setCopied(false);
            }
          }}
        >
          Copy key
        </button>
        <button type="button" data-variant="secondary" onClick={onDone}>
          Done
        </button>
      </div>
      {copied && <p role="status">Copied to the clipboard.</p>}
    </div>
  );
}

export function KeysPage() {
  const me = useMe().data;
  const keys = useKeys();
  const create = useCreateKey();
  const rotate = useRotateKey();
  const revoke = useRevokeKey();
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [rotating, setRotating] = useState<ApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const scopes = (me?.scopes ?? []) as Scope[];
  const replaced = replacedKeys(keys.data ?? []);
  useDocumentTitle("API keys");

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const limit = String(data.get("limit") ?? "").trim();
    const expires = String(data.get("expires") ?? "").trim();
    const result = await create.mutateAsync({
      name: String(data.get("name") ?? ""),
      scopes: data.getAll("scopes").map(String) as Scope[],
      rate_limit_per_minute: limit ? Number(limit) : null,
      expires_at: expires ? new Date(`${expires}T23:59:59Z`).toISOString() : null,
    });
    setCreated(result);
    form.reset();
  }

  async function rotateKey(key: ApiKey, data: FormData) {
    const hours = Number(String(data.get("grace") ?? "24"));
    const grace = Math.max(0, Math.round((Number.isFinite(hours) ? hours : 24) * 3600));
    setRotating(null);
    setCreated(await rotate.mutateAsync({ id: key.id, grace }));
  }

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      {created && <SecretOnce created={created} onDone={() => setCreated(null)} />}
      <form className={styles.card} onSubmit={(e) => void submit(e).catch(() => undefined)} aria-labelledby="create-key-title">
        <h2 id="create-key-title">Create a key</h2>
        <label htmlFor="key-name">Name</label>
        <input id="key-name" name="name" required maxLength={100} />
        <fieldset className={styles.scopes}>
          <legend>Scopes</legend>
          {scopes.map((scope) => (
            <label key={scope}>
              <input type="checkbox" name="scopes" value={scope} defaultChecked={scope.startsWith("tickets")} /> {scope}
            </label>
          ))}
        </fieldset>
        <label htmlFor="key-limit">Requests per minute (empty: server default)</label>
        <input id="key-limit" name="limit" type="number" min={1} max={100000} />
        <label htmlFor="key-expires">Expires on (empty: never)</label>
        <input id="key-expires" name="expires" type="date" />
        {create.isError && <ProblemMessage error={create.error} />}
        <div>
          <button type="submit" disabled={create.isPending}>Create key</button>
        </div>
      </form>
      {rotate.isError && <ProblemMessage error={rotate.error} />}
      {revoke.isError && <ProblemMessage error={revoke.error} />}
      {keys.isPending ? (
        <Loading label="Loading keys" />
      ) : keys.isError ? (
        <ProblemMessage error={keys.error} retry={() => void keys.refetch()} />
      ) : keys.data.length === 0 ? (
        <EmptyState title="No API keys yet" />
      ) : (
        <div className={styles.scroll} role="region" aria-label="Your API keys, scrollable" tabIndex={0}>
        <table aria-label="Your API keys">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Scopes</th>
              <th scope="col">State</th>
              <th scope="col">Last used</th>
              <th scope="col">Expires</th>
              <th scope="col"><span className="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => {
              const state = keyState(k);
              const old = replaced.has(k.id);
              const label = keyLabel(k);
              return (
                <tr key={k.id}>
                  <td>
                    {k.name}
                    {old && <span className={styles.note}>Replaced by a rotation</span>}
                  </td>
                  <td className={styles.mono}>{k.prefix}…</td>
                  <td>{k.scopes.join(", ")}</td>
                  <td>
                    {state === "active" && k.expires_at
                      ? `${old ? "Old key, stops" : "Active, expires"} ${timeUntil(k.expires_at)}`
                      : humanize(state)}
                  </td>
                  <td>{formatDateTime(k.last_used_at)}</td>
                  <td>{k.expires_at ? formatDateTime(k.expires_at) : "Never"}</td>
                  <td className={styles.row}>
                    {state === "active" && (
                      <>
                        {!old && (
                          <button type="button" data-variant="secondary" aria-label={`Rotate ${label}`} onClick={() => setRotating(k)}>
                            Rotate
                          </button>
                        )}
                        <button
                          type="button"
                          data-variant="danger"
                          aria-label={`Revoke ${old ? "old key " : ""}${label}`}
                          onClick={() => setRevoking(k)}
                        >
                          {old ? "Revoke now" : "Revoke"}
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        </div>
      )}
      {rotating && (
        <Dialog
          title={`Rotate ${keyLabel(rotating)}?`}
          confirm="Rotate key"
          onCancel={() => setRotating(null)}
          onConfirm={(data) => void rotateKey(rotating, data).catch(() => undefined)}
        >
          <p>A new key with the same name, scopes and limit is shown once. The old key keeps working for the grace period, then stops.</p>
          <label htmlFor="grace-hours">Grace period for the old key, in hours (0 = stop now)</label>
          <input id="grace-hours" name="grace" type="number" min={0} max={720} step="any" defaultValue={24} required />
        </Dialog>
      )}
      {revoking && (
        <Dialog
          title={`Revoke ${keyLabel(revoking)}?`}
          confirm="Revoke key"
          danger
          onCancel={() => setRevoking(null)}
          onConfirm={() => {
            revoke.mutate(revoking.id);
            setRevoking(null);
          }}
        >
          <p>It stops working at once.</p>
        </Dialog>
      )}
    </section>
  );
}
