import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type components, unwrap } from "../../lib/api/client";

export type Rule = components["schemas"]["RuleRead"];
export type RuleCreate = components["schemas"]["RuleCreate"];
export type DryRunResult = components["schemas"]["DryRunResult"];
export type Execution = components["schemas"]["ExecutionRead"];

export function useRules() {
  return useQuery({
    queryKey: ["rules"],
    queryFn: async () => (await unwrap(api.GET("/api/v1/rules"))).sort((a, b) => a.position - b.position || a.name.localeCompare(b.name)),
  });
}

export function useSaveRule() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string | null; body: RuleCreate }) =>
      id
        ? unwrap(api.PATCH("/api/v1/rules/{rule_id}", { params: { path: { rule_id: id } }, body }))
        : unwrap(api.POST("/api/v1/rules", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["rules"] }),
  });
}

/** Small changes from the list (enable, order): one PATCH each, shown at once (and undone if
 * the API refuses). */
export function usePatchRule() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: components["schemas"]["RuleUpdate"] }) =>
      unwrap(api.PATCH("/api/v1/rules/{rule_id}", { params: { path: { rule_id: id } }, body })),
    onMutate: async ({ id, body }) => {
      await client.cancelQueries({ queryKey: ["rules"] });
      const before = client.getQueryData<Rule[]>(["rules"]);
      client.setQueryData<Rule[]>(["rules"], (rules) =>
        rules
          ?.map((r) =>
            r.id === id
              ? {
                  ...r,
                  ...(body.enabled !== undefined && body.enabled !== null ? { enabled: body.enabled } : {}),
                  ...(body.position !== undefined && body.position !== null ? { position: body.position } : {}),
                }
              : r,
          )
          .sort((a, b) => a.position - b.position || a.name.localeCompare(b.name)),
      );
      return { before };
    },
    onError: (_error, _vars, context) => {
      if (context?.before) client.setQueryData(["rules"], context.before);
    },
    onSettled: () => client.invalidateQueries({ queryKey: ["rules"] }),
  });
}

export function useDeleteRule() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE("/api/v1/rules/{rule_id}", { params: { path: { rule_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: ["rules"] }),
  });
}

export function useDryRun(ruleId: string) {
  return useMutation({
    mutationFn: (body: components["schemas"]["DryRun"]) =>
      unwrap(api.POST("/api/v1/rules/{rule_id}/dry-run", { params: { path: { rule_id: ruleId } }, body })),
  });
}

const PAGE = 25;

/** The rule's execution log, newest first, page by page (`before_id`). */
export function useExecutions(ruleId: string) {
  return useInfiniteQuery({
    queryKey: ["rules", ruleId, "executions"],
    initialPageParam: null as number | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/rules/{rule_id}/executions", {
          params: { path: { rule_id: ruleId }, query: { limit: PAGE, ...(pageParam ? { before_id: pageParam } : {}) } },
        }),
      ),
    getNextPageParam: (last) => (last.length === PAGE ? (last[last.length - 1]?.id ?? null) : null),
  });
}
