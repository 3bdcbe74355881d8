import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { Dialog } from "../../components/Dialog";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { formatDateTime, humanize } from "../../lib/format";
import { useDocumentTitle } from "../../lib/title";
import { ActionsEditor } from "../automation/ActionsEditor";
import { ConditionsEditor } from "../automation/ConditionsEditor";
import {
  type ActionDraft,
  type ApiCondition,
  type ConditionDraft,
  EVENTS,
  type Names,
  RULE_ACTIONS,
  actionFromApi,
  actionsToApi,
  conditionFromApi,
  conditionsToApi,
  describeEffect,
  newAction,
  newCondition,
} from "../automation/model";
import { teamName, useTeams } from "../teams/api";
import { nameOf, useStaff } from "../users/api";
import styles from "../users/Admin.module.css";
import { type Rule, type RuleCreate, useDeleteRule, useDryRun, useExecutions, usePatchRule, useRules, useSaveRule } from "./api";
import { moveRule, nextPosition } from "./order";

function useNames(): Names {
  const staff = useStaff(true);
  const teams = useTeams();
  return { user: (id) => nameOf(staff.data, id), team: (id) => teamName(teams.data, id) ?? "No team" };
}

/** Admins: the rules in run order (enable, reorder), an editor built from lists, a dry run
 * before anything goes live, and each rule's execution log. */
export function RulesPage() {
  useDocumentTitle("Rules");
  const rules = useRules();
  const patch = usePatchRule();
  const remove = useDeleteRule();
  const [editing, setEditing] = useState<Rule | "new" | null>(null);
  const [deleting, setDeleting] = useState<Rule | null>(null);
  const list = rules.data ?? [];

  async function move(rule: Rule, step: -1 | 1) {
    for (const [id, position] of moveRule(list, rule.id, step)) {
      await patch.mutateAsync({ id, body: { position } });
    }
  }

  return (
    <section aria-labelledby="rules-title">
      <h1 id="rules-title">Rules</h1>
      <p>
        Rules run in the worker, in this order, on every change that matches their conditions. Try a rule with
        <strong> Dry run</strong> before you enable it: it shows which recent tickets would match and what would change.
      </p>
      {editing === null && (
        <button type="button" onClick={() => setEditing("new")}>
          New rule
        </button>
      )}
      {editing !== null && (
        <RuleEditor
          key={editing === "new" ? "new" : editing.id}
          rule={editing === "new" ? null : editing}
          position={nextPosition(list)}
          onDone={(saved) => setEditing(saved)}
        />
      )}
      {patch.isError && <ProblemMessage error={patch.error} />}
      {remove.isError && <ProblemMessage error={remove.error} />}
      {rules.isPending ? (
        <Loading label="Loading rules" />
      ) : rules.isError ? (
        <ProblemMessage error={rules.error} retry={() => void rules.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState title="No rules yet">Create one: e.g. new tickets tagged vip become urgent.</EmptyState>
      ) : (
        <div className={styles.scroll}>
          <table aria-label="Rules in run order">
            <thead>
              <tr>
                <th scope="col">Order</th>
                <th scope="col">Name</th>
                <th scope="col">Enabled</th>
                <th scope="col">
                  <span className="visually-hidden">Manage</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((r, i) => (
                <tr key={r.id}>
                  <td>
                    {i + 1}{" "}
                    <button type="button" data-variant="secondary" disabled={i === 0 || patch.isPending} onClick={() => void move(r, -1).catch(() => undefined)}>
                      Move {r.name} up
                    </button>{" "}
                    <button
                      type="button"
                      data-variant="secondary"
                      disabled={i === list.length - 1 || patch.isPending}
                      onClick={() => void move(r, 1).catch(() => undefined)}
                    >
                      Move {r.name} down
                    </button>
                  </td>
                  <td>
                    {r.name}
                    {r.disabled_reason && <div role="note">Disabled: {r.disabled_reason}</div>}
                  </td>
                  <td>
                    <label>
                      <input
                        type="checkbox"
                        checked={r.enabled}
                        disabled={patch.isPending}
                        onChange={(e) => patch.mutate({ id: r.id, body: { enabled: e.target.checked } })}
                      />{" "}
                      <span className="visually-hidden">{r.name} </span>enabled
                    </label>
                  </td>
                  <td>
                    <button type="button" data-variant="secondary" onClick={() => setEditing(r)}>
                      Edit {r.name}
                    </button>{" "}
                    <button type="button" data-variant="secondary" onClick={() => setDeleting(r)}>
                      Delete {r.name}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deleting && (
        <Dialog
          title={`Delete rule ${deleting.name}?`}
          confirm="Delete rule"
          danger
          onConfirm={() => {
            remove.mutate(deleting.id);
            if (editing !== null && editing !== "new" && editing.id === deleting.id) setEditing(null);
            setDeleting(null);
          }}
          onCancel={() => setDeleting(null)}
        >
          <p>Its execution log goes with it.</p>
        </Dialog>
      )}
    </section>
  );
}

interface EditorProps {
  rule: Rule | null;
  position: number;
  onDone: (saved: Rule | null) => void;
}

function RuleEditor({ rule, position, onDone }: EditorProps) {
  const save = useSaveRule();
  const staff = useStaff(true);
  const teams = useTeams();
  const [name, setName] = useState(rule?.name ?? "");
  const [description, setDescription] = useState(rule?.description ?? "");
  const [enabled, setEnabled] = useState(rule?.enabled ?? false);
  const [once, setOnce] = useState(rule?.once_per_ticket ?? false);
  const [maxPerHour, setMaxPerHour] = useState(String(rule?.max_per_hour ?? 1000));
  const conditions = rule?.conditions as { all?: ApiCondition[]; any?: ApiCondition[] } | undefined;
  const [all, setAll] = useState<ConditionDraft[]>(() => (rule ? (conditions?.all ?? []).map(conditionFromApi) : [newCondition("event")]));
  const [any, setAny] = useState<ConditionDraft[]>(() => (conditions?.any ?? []).map(conditionFromApi));
  const [actions, setActions] = useState<ActionDraft[]>(() => (rule ? rule.actions.map((a) => actionFromApi(a)) : [newAction("set")]));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  /** The definition as the form says, or the first problem. */
  function build(): RuleCreate | null {
    const conds = conditionsToApi(all, any);
    if ("error" in conds) {
      setError(conds.error);
      return null;
    }
    const acts = actionsToApi(actions);
    if ("error" in acts) {
      setError(acts.error);
      return null;
    }
    if (acts.length === 0) {
      setError("A rule needs at least one action.");
      return null;
    }
    const max = Number(maxPerHour);
    if (!Number.isInteger(max) || max < 1) {
      setError("Runs per hour: a whole number, at least 1.");
      return null;
    }
    setError(null);
    return {
      name: name.trim(),
      description,
      position: rule?.position ?? position,
      enabled,
      once_per_ticket: once,
      max_per_hour: max,
      conditions: conds as RuleCreate["conditions"],
      actions: acts,
    };
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const body = build();
    if (!body) return;
    const result = await save.mutateAsync({ id: rule?.id ?? null, body });
    setSaved(`Saved ${result.name}.`);
    onDone(result);
  }

  return (
    <div className={styles.card}>
      <form aria-labelledby="rule-form-title" onSubmit={(e) => void submit(e).catch(() => undefined)}>
        <h2 id="rule-form-title">{rule ? `Edit ${rule.name}` : "New rule"}</h2>
        <div className={styles.grid}>
          <label htmlFor="rule-name">Name</label>
          <input id="rule-name" value={name} required maxLength={100} onChange={(e) => setName(e.target.value)} />
          <label htmlFor="rule-description">Description</label>
          <input id="rule-description" value={description} maxLength={2000} onChange={(e) => setDescription(e.target.value)} />
          <label htmlFor="rule-max">Runs per hour before it is disabled</label>
          <input id="rule-max" inputMode="numeric" value={maxPerHour} onChange={(e) => setMaxPerHour(e.target.value)} />
        </div>
        <label>
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled (runs on new changes)
        </label>{" "}
        <label>
          <input type="checkbox" checked={once} onChange={(e) => setOnce(e.target.checked)} /> At most once per ticket
        </label>
        <ConditionsEditor legend="All of" conditions={all} onChange={setAll} staff={staff.data} teams={teams.data} idPrefix="rule-all" />
        <ConditionsEditor legend="Any of" conditions={any} onChange={setAny} staff={staff.data} teams={teams.data} idPrefix="rule-any" />
        <p className={styles.note}>Every condition under “All of” must hold, and — when there are any — one under “Any of”.</p>
        <ActionsEditor actions={actions} onChange={setActions} types={RULE_ACTIONS} staff={staff.data} teams={teams.data} idPrefix="rule" />
        {error && <p role="alert">{error}</p>}
        {save.isError && <ProblemMessage error={save.error} />}
        <p role="status">{saved}</p>
        <div>
          <button type="submit" disabled={save.isPending}>
            {rule ? "Save rule" : "Create rule"}
          </button>{" "}
          <button type="button" data-variant="secondary" onClick={() => onDone(null)}>
            Close editor
          </button>
        </div>
      </form>
      {rule ? (
        <>
          <DryRunPanel ruleId={rule.id} build={build} />
          <ExecutionLog ruleId={rule.id} />
        </>
      ) : (
        <p className={styles.note}>Create the rule (leave it disabled) to try it with a dry run.</p>
      )}
    </div>
  );
}

function DryRunPanel({ ruleId, build }: { ruleId: string; build: () => RuleCreate | null }) {
  const dry = useDryRun(ruleId);
  const names = useNames();
  const [event, setEvent] = useState("ticket.updated");
  const [limit, setLimit] = useState("50");

  function run() {
    const rule = build();
    if (!rule) return;
    dry.mutate({ event, limit: Math.min(500, Math.max(1, Number(limit) || 50)), rule });
  }

  return (
    <section aria-labelledby="dry-run-title">
      <h3 id="dry-run-title">Dry run</h3>
      <p className={styles.note}>Evaluates the definition above (saved or not) on recent tickets; changes nothing.</p>
      <label>
        As the event{" "}
        <select value={event} onChange={(e) => setEvent(e.target.value)}>
          {EVENTS.map((e) => (
            <option key={e} value={e}>
              {e}
            </option>
          ))}
        </select>
      </label>{" "}
      <label>
        Recently updated tickets <input inputMode="numeric" size={4} value={limit} onChange={(e) => setLimit(e.target.value)} />
      </label>{" "}
      <button type="button" onClick={run} disabled={dry.isPending}>
        {dry.isPending ? "Running…" : "Dry run"}
      </button>
      {dry.isError && <ProblemMessage error={dry.error} />}
      <div role="status">
        {dry.data &&
          `${dry.data.matched.length} of ${dry.data.evaluated} tickets would match.`}
      </div>
      {dry.data && dry.data.matched.length > 0 && (
        <div className={styles.scroll}>
          <table aria-label="Tickets that would match">
            <thead>
              <tr>
                <th scope="col">Ticket</th>
                <th scope="col">What would change</th>
              </tr>
            </thead>
            <tbody>
              {dry.data.matched.map((m) => (
                <tr key={m.ticket_id}>
                  <td>
                    <Link to={`/tickets/${m.ticket_id}`}>
                      #{m.number} {m.title}
                    </Link>
                  </td>
                  <td>
                    {m.changes.length === 0 ? (
                      "Nothing (already so)"
                    ) : (
                      <ul className={styles.changeList}>
                        {m.changes.map((c, i) => (
                          <li key={i}>{describeEffect(c, names)}</li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ExecutionLog({ ruleId }: { ruleId: string }) {
  const log = useExecutions(ruleId);
  const names = useNames();
  const rows = log.data?.pages.flat() ?? [];
  return (
    <section aria-labelledby="log-title">
      <h3 id="log-title">Execution log</h3>
      <button type="button" data-variant="secondary" onClick={() => void log.refetch()}>
        Refresh the log
      </button>
      {log.isPending ? (
        <Loading label="Loading the log" />
      ) : log.isError ? (
        <ProblemMessage error={log.error} />
      ) : rows.length === 0 ? (
        <p>The rule has not run yet.</p>
      ) : (
        <div className={styles.scroll}>
          <table aria-label="Executions, newest first">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Ticket</th>
                <th scope="col">Result</th>
                <th scope="col">Effects or reason</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((x) => (
                <tr key={x.id}>
                  <td>{formatDateTime(x.executed_at)}</td>
                  <td>
                    <Link to={`/tickets/${x.ticket_id}`}>Ticket</Link>
                    {x.depth > 0 && ` (by rules, depth ${x.depth})`}
                  </td>
                  <td>{humanize(x.status)}</td>
                  <td>
                    {x.reason ?? (
                      <ul className={styles.changeList}>
                        {x.effects.map((e, i) => (
                          <li key={i}>{describeEffect(e, names)}</li>
                        ))}
                      </ul>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {log.hasNextPage && (
        <button type="button" data-variant="secondary" onClick={() => void log.fetchNextPage()} disabled={log.isFetchingNextPage}>
          Older executions
        </button>
      )}
    </section>
  );
}
