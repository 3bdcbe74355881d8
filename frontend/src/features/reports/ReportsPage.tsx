import { useQuery } from "@tanstack/react-query";
import type { FormEvent, ReactNode } from "react";
import { useSearchParams } from "react-router";
import {
  Bar,
  BarChart,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import { EmptyState, Loading } from "../../components/Loading";
import { ProblemMessage } from "../../components/ProblemMessage";
import { api, type components, unwrap } from "../../lib/api/client";
import { humanize } from "../../lib/format";
import { useDocumentTitle } from "../../lib/title";
import {
  GROUPS,
  INTERVALS,
  PRIORITIES,
  type ReportControls,
  bucketLabel,
  controlsFrom,
  controlsToParams,
  csvHref,
  formatDuration,
  formatPercentile,
  formatRate,
  hasClockFigures,
  reportQuery,
  sourceNote,
} from "./reports";
import styles from "./Reports.module.css";

type Schemas = components["schemas"];
type Query = Record<string, string>;
// Colours with at least 3:1 contrast on the light surface, told apart by shape and legend too.
const COLOURS = ["#1f5fbf", "#b3421f", "#2e7d32", "#6a3fb5", "#8a6d00"];
const HOUR = 3600;

function hours(seconds: number | null | undefined): number | null {
  return seconds === null || seconds === undefined ? null : Math.round((seconds / HOUR) * 100) / 100;
}

/** The JSON body (the routes also answer CSV, so the generated type includes `string`). */
async function asJson<T>(call: Promise<T>): Promise<Exclude<T, string>> {
  const body = await call;
  if (typeof body === "string") throw new Error("The server sent CSV where JSON was asked for.");
  return body as Exclude<T, string>;
}

/** One report's data, cached per query (TanStack Query keys named after the resource). */
function useReport<T>(name: string, query: Query, fetcher: () => Promise<T>) {
  return useQuery({ queryKey: ["reports", name, query], queryFn: fetcher, staleTime: 60_000 });
}

/** A chart is an image to a screen reader; its table (always shown) holds the numbers. */
function Chart({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className={styles.chart} role="img" aria-label={label}>
      <ResponsiveContainer width="100%" height="100%">
        {children as React.ReactElement}
      </ResponsiveContainer>
    </div>
  );
}

function DataTable({ label, head, rows }: { label: string; head: string[]; rows: (string | number)[][] }) {
  return (
    <div className={styles.scroll} role="region" aria-label={`${label}, scrollable`} tabIndex={0}>
      <table className={styles.table} aria-label={label}>
        <thead>
          <tr>
            {head.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, i) => (
            <tr key={i}>
              {row.map((cell, j) =>
                j === 0 ? (
                  <th key={j} scope="row">
                    {cell}
                  </th>
                ) : (
                  <td key={j}>{cell}</td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ReportSection<T extends { definition: string; buckets: unknown[]; source: string; approximate: boolean }>({
  id,
  title,
  report,
  query,
  csvQuery,
  extra,
  children,
}: {
  id: string;
  title: string;
  report: ReturnType<typeof useReport<T>>;
  query: Query;
  csvQuery?: Query;
  extra?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  return (
    <section className={styles.report} aria-labelledby={`${id}-title`}>
      <div className={styles.head}>
        <h2 id={`${id}-title`}>{title}</h2>
        {extra}
        <a href={csvHref(id, csvQuery ?? query)} download>
          Download CSV<span className="visually-hidden"> of {title.toLowerCase()}</span>
        </a>
      </div>
      {report.isPending ? (
        <Loading label={`Loading ${title.toLowerCase()}`} />
      ) : report.isError ? (
        <ProblemMessage error={report.error} retry={() => void report.refetch()} />
      ) : (
        <>
          <p className={styles.definition}>{report.data.definition}</p>
          <p className={styles.definition}>{sourceNote(report.data)}</p>
          {report.data.buckets.length === 0 ? <EmptyState title="Nothing in this period" /> : children(report.data)}
        </>
      )}
    </section>
  );
}

/** Agents and admins (for the agent filter and the names in volume by agent). */
function useStaff() {
  return useQuery({
    queryKey: ["users", { staff: true }],
    staleTime: 5 * 60_000,
    queryFn: () => unwrap(api.GET("/api/v1/users", { params: { query: { staff: true, limit: 100 } } })),
  });
}

function Controls({ controls, onApply }: { controls: ReportControls; onApply: (c: ReportControls) => void }) {
  const agents = useStaff();
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const d = new FormData(event.currentTarget);
    const get = (name: string) => String(d.get(name) ?? "").trim();
    onApply({
      from: get("from") || controls.from,
      to: get("to") || controls.to,
      interval: get("interval") as ReportControls["interval"],
      zone: get("zone") || "UTC",
      priority: get("priority"),
      agent: get("agent"),
      groupBy: controls.groupBy,
    });
  }
  return (
    <form onSubmit={submit} aria-label="Report period and filters" key={JSON.stringify(controls)}>
      <div className={styles.controls}>
        <div className={styles.field}>
          <label htmlFor="report-from">From</label>
          <input id="report-from" type="date" name="from" defaultValue={controls.from} required />
        </div>
        <div className={styles.field}>
          <label htmlFor="report-to">To (inclusive)</label>
          <input id="report-to" type="date" name="to" defaultValue={controls.to} required />
        </div>
        <div className={styles.field}>
          <label htmlFor="report-interval">Interval</label>
          <select id="report-interval" name="interval" defaultValue={controls.interval}>
            {INTERVALS.map((i) => (
              <option key={i} value={i}>
                {humanize(i)}
              </option>
            ))}
          </select>
        </div>
        <div className={styles.field}>
          <label htmlFor="report-zone">Time zone</label>
          <input id="report-zone" name="zone" defaultValue={controls.zone} placeholder="Europe/Berlin" />
        </div>
        <div className={styles.field}>
          <label htmlFor="report-priority">Priority</label>
          <select id="report-priority" name="priority" defaultValue={controls.priority}>
            <option value="">Any</option>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {humanize(p)}
              </option>
            ))}
          </select>
        </div>
        <div className={styles.field}>
          <label htmlFor="report-agent">Agent</label>
          <select id="report-agent" name="agent" defaultValue={controls.agent}>
            <option value="">Any</option>
            {(agents.data?.data ?? []).map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Show reports</button>
      </div>
    </form>
  );
}

export function ReportsPage() {
  useDocumentTitle("Reports");
  const [params, setParams] = useSearchParams();
  const controls = controlsFrom(params);
  const query = reportQuery(controls);
  const zone = controls.zone;
  const label = (start: string) => bucketLabel(start, controls.interval, zone);
  const measure = params.get("measure") === "first" ? "first" : "full";
  const staff = useStaff().data?.data ?? [];
  const nameOf = (key: string) =>
    controls.groupBy === "agent" ? (staff.find((u) => u.id === key)?.name ?? (key === "unassigned" ? "Unassigned" : key)) : key;

  // The typed query of each route is the same shape; the controls built it (reports.ts).
  const q = (extra: Query = {}) => ({ params: { query: { ...query, ...extra } as never } });
  const firstResponse = useReport("first-response", query, () => asJson(unwrap(api.GET("/api/v1/reports/first-response", q()))));
  const resolution = useReport("resolution", { ...query, measure }, () => asJson(unwrap(api.GET("/api/v1/reports/resolution", q({ measure })))));
  const backlog = useReport("backlog", query, () => asJson(unwrap(api.GET("/api/v1/reports/backlog", q()))));
  const reopens = useReport("reopens", query, () => asJson(unwrap(api.GET("/api/v1/reports/reopens", q()))));
  const attainment = useReport("sla-attainment", query, () => asJson(unwrap(api.GET("/api/v1/reports/sla-attainment", q()))));
  const volume = useReport("volume", { ...query, group_by: controls.groupBy }, () =>
    asJson(unwrap(api.GET("/api/v1/reports/volume", q({ group_by: controls.groupBy })))),
  );

  function apply(next: ReportControls) {
    const p = controlsToParams(next);
    if (measure === "first") p.set("measure", "first");
    setParams(p);
  }
  function setParam(name: string, value: string | null) {
    const p = new URLSearchParams(params);
    if (value === null) p.delete(name);
    else p.set(name, value);
    setParams(p);
  }

  return (
    <section aria-labelledby="reports-title">
      <h1 id="reports-title">Reports</h1>
      <Controls controls={controls} onApply={apply} />

      <ReportSection<Schemas["DurationReport"]> id="first-response" title="First response time" report={firstResponse} query={query}>
        {(data) => {
          const rows = data.buckets.map((b) => ({
            label: label(b.start),
            calendar: hours(b.calendar.p50),
            business: hours(b.business.p50),
          }));
          return (
            <>
              <Chart label="Median first response time per bucket, in hours: calendar and business time. The table below has the numbers.">
                <LineChart data={rows} accessibilityLayer={false}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="label" />
                  <YAxis unit=" h" />
                  <Tooltip />
                  <Legend />
                  <Line dataKey="calendar" name="Median, calendar (h)" stroke={COLOURS[0]} />
                  <Line dataKey="business" name="Median, business (h)" stroke={COLOURS[1]} strokeDasharray="5 3" />
                </LineChart>
              </Chart>
              <DataTable
                label="First response time per bucket"
                head={["Bucket", "Tickets", "Median (calendar)", "90th pct (calendar)", "Median (business)", "90th pct (business)", "In business time"]}
                rows={data.buckets.map((b) => [
                  label(b.start),
                  b.tickets,
                  formatPercentile(b.calendar.p50, data),
                  formatPercentile(b.calendar.p90, data),
                  formatPercentile(b.business.p50, data),
                  formatPercentile(b.business.p90, data),
                  b.business_tickets,
                ])}
              />
            </>
          );
        }}
      </ReportSection>

      <ReportSection<Schemas["DurationReport"]>
        id="resolution"
        title="Resolution time"
        report={resolution}
        query={query}
        csvQuery={{ ...query, measure }}
        extra={
          <div className={styles.field}>
            <label htmlFor="report-measure">Measure</label>
            <select id="report-measure" value={measure} onChange={(e) => setParam("measure", e.target.value === "first" ? "first" : null)}>
              <option value="full">Full (last solve)</option>
              <option value="first">First solve</option>
            </select>
          </div>
        }
      >
        {(data) => (
          <>
            <Chart label={`Median ${measure} resolution time per bucket, in hours. The table below has the numbers.`}>
              <BarChart data={data.buckets.map((b) => ({ label: label(b.start), calendar: hours(b.calendar.p50), business: hours(b.business.p50) }))} accessibilityLayer={false}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="label" />
                <YAxis unit=" h" />
                <Tooltip />
                <Legend />
                <Bar dataKey="calendar" name="Median, calendar (h)" fill={COLOURS[0]} />
                <Bar dataKey="business" name="Median, business (h)" fill={COLOURS[1]} />
              </BarChart>
            </Chart>
            <DataTable
              label="Resolution time per bucket"
              // The SLA clocks' own figures come only from the facts (clocks are not rolled up).
              head={[
                "Bucket",
                "Tickets",
                "Median (calendar)",
                "90th pct (calendar)",
                "Median (business)",
                ...(hasClockFigures(data) ? ["Median (SLA clock)"] : []),
              ]}
              rows={data.buckets.map((b) => [
                label(b.start),
                b.tickets,
                formatPercentile(b.calendar.p50, data),
                formatPercentile(b.calendar.p90, data),
                formatPercentile(b.business.p50, data),
                ...(hasClockFigures(data) ? [formatDuration(b.clock.p50)] : []),
              ])}
            />
          </>
        )}
      </ReportSection>

      <ReportSection<Schemas["BacklogReport"]> id="backlog" title="Backlog" report={backlog} query={query}>
        {(data) => (
          <>
            <Chart label="Open tickets at the end of each bucket (line), created and solved per bucket (bars). The table below has the numbers.">
              <ComposedChart data={data.buckets.map((b) => ({ ...b, label: label(b.start) }))} accessibilityLayer={false}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="label" />
                <YAxis />
                <Tooltip />
                <Legend />
                <Bar dataKey="created" name="Created" fill={COLOURS[2]} />
                <Bar dataKey="solved" name="Solved" fill={COLOURS[3]} />
                <Line dataKey="backlog" name="Open at end" stroke={COLOURS[0]} />
              </ComposedChart>
            </Chart>
            <p>Open at the start: {data.opening}</p>
            <DataTable
              label="Backlog per bucket"
              head={["Bucket", "Created", "Reopened", "Solved", "Open at end"]}
              rows={data.buckets.map((b) => [label(b.start), b.created, b.reopened, b.solved, b.backlog])}
            />
          </>
        )}
      </ReportSection>

      <ReportSection<Schemas["ReopenReport"]> id="reopens" title="Reopens" report={reopens} query={query}>
        {(data) => (
          <>
            <Chart label="Reopen rate of the tickets first solved in each bucket, in percent. The table below has the numbers.">
              <BarChart data={data.buckets.map((b) => ({ label: label(b.start), rate: b.reopen_rate === null ? null : b.reopen_rate * 100 }))} accessibilityLayer={false}>
                <CartesianGrid strokeDasharray="3 3" />
                <XAxis dataKey="label" />
                <YAxis unit=" %" />
                <Tooltip />
                <Bar dataKey="rate" name="Reopen rate (%)" fill={COLOURS[1]} />
              </BarChart>
            </Chart>
            <DataTable
              label="Reopens per bucket"
              head={["Bucket", "First solved", "Reopened since", "Reopen rate", "Reopens", "Mean time to reopen"]}
              rows={data.buckets.map((b) => [
                label(b.start),
                b.solved,
                b.reopened_tickets,
                formatRate(b.reopen_rate),
                b.reopens,
                formatDuration(b.reopen_after_avg),
              ])}
            />
          </>
        )}
      </ReportSection>

      <ReportSection<Schemas["AttainmentReport"]> id="sla-attainment" title="SLA attainment" report={attainment} query={query}>
        {(data) => {
          const byBucket = new Map<string, Record<string, number | string | null>>();
          for (const b of data.buckets) {
            const row = byBucket.get(b.start) ?? { label: label(b.start) };
            row[b.kind] = b.attainment === null ? null : Math.round(b.attainment * 1000) / 10;
            byBucket.set(b.start, row);
          }
          const kinds = [...new Set(data.buckets.map((b) => b.kind))];
          return (
            <>
              <Chart label="Share of SLA clocks met per bucket and kind, in percent. The table below has the numbers.">
                <BarChart data={[...byBucket.values()]} accessibilityLayer={false}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="label" />
                  <YAxis unit=" %" domain={[0, 100]} />
                  <Tooltip />
                  <Legend />
                  {kinds.map((k, i) => (
                    <Bar key={k} dataKey={k} name={`${humanize(k)} met (%)`} fill={COLOURS[i % COLOURS.length]} />
                  ))}
                </BarChart>
              </Chart>
              <DataTable
                label="SLA attainment per bucket and kind"
                head={["Bucket", "Kind", "Met", "Breached", "Attainment", "Business-time targets"]}
                rows={data.buckets.map((b) => [label(b.start), humanize(b.kind), b.met, b.breached, formatRate(b.attainment), b.business])}
              />
            </>
          );
        }}
      </ReportSection>

      <ReportSection<Schemas["VolumeReport"]>
        id="volume"
        title="Volume"
        report={volume}
        query={query}
        csvQuery={{ ...query, group_by: controls.groupBy }}
        extra={
          <div className={styles.field}>
            <label htmlFor="report-group-by">Volume by</label>
            <select id="report-group-by" value={controls.groupBy} onChange={(e) => setParam("group_by", e.target.value === "channel" ? null : e.target.value)}>
              {GROUPS.map((g) => (
                <option key={g} value={g}>
                  {humanize(g)}
                </option>
              ))}
            </select>
          </div>
        }
      >
        {(data) => {
          const keys = [...new Set(data.buckets.flatMap((b) => b.groups.map((g) => g.key ?? "unassigned")))];
          const rows = data.buckets.map((b) => {
            const row: Record<string, number | string> = { label: label(b.start) };
            for (const g of b.groups) row[g.key ?? "unassigned"] = g.tickets;
            return row;
          });
          return (
            <>
              <Chart label={`Tickets created per bucket by ${controls.groupBy}. The table below has the numbers.`}>
                <BarChart data={rows} accessibilityLayer={false}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="label" />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  {keys.map((k, i) => (
                    <Bar key={k} dataKey={k} name={nameOf(k)} stackId="v" fill={COLOURS[i % COLOURS.length]} />
                  ))}
                </BarChart>
              </Chart>
              <DataTable
                label="Tickets created per bucket"
                head={["Bucket", "Total", ...keys.map(nameOf)]}
                rows={data.buckets.map((b) => [label(b.start), b.tickets, ...keys.map((k) => b.groups.find((g) => (g.key ?? "unassigned") === k)?.tickets ?? 0)])}
              />
            </>
          );
        }}
      </ReportSection>
    </section>
  );
}
