"""Query-cost limits, checked during validation (before any resolver runs).

* depth and aliases are counted with every fragment spread expanded — counting only the
  operation's own selections is the known bypass of Strawberry's alias limiter (an alias inside a
  fragment spread 50 times). Fragments are measured once each and the results memoized, so a
  "fragment bomb" (fragments spreading each other several times) costs linear time to measure
  while its expanded size is what gets limited.
* tokens: graphql-core's parser stops at ``MAX_TOKENS`` (``parse_options['max_tokens']``).
* batch size: at most ``MAX_BATCH`` operations per HTTP request.
* nodes (static cost, before anything runs): a field with a size argument (``first`` of a
  connection, ``count`` of ``lastMessages``) returns that many items — the argument's default
  when absent, a variable's value when one is given — and everything selected below it is
  multiplied by that size, so nested lists multiply. The sum over the operation must not exceed
  ``HELPLINE_GRAPHQL_MAX_NODES`` (default 10,000), else 400 ``query-too-costly`` with ``cost`` and
  ``limit``. Lists without a size argument (API keys, webhooks, a message's attachments) are
  small by nature and count as one. Example: ``tickets(first:100){nodes{customer{
  tickets(first:100){nodes{id}}}}}`` costs 100 * (1 + 100) = 10,100 nodes.
* rate limit: an operation counts ``ceil(nodes / 100)`` requests, at least one (as GitHub's
  GraphQL API charges); a mutation at least once per root field (so ``a: createTicket …
  b: createTicket …`` counts twice). The response's ``extensions.cost`` reports both figures.
* a document with several operations needs ``operationName`` (400 ``operation-name-required``).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from helpline.auth.dependencies import actor_context, limit_principal
from helpline.errors import OperationNameRequired, QueryTooCostly

if TYPE_CHECKING:
    from helpline.graphql.context import GraphQLContext

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 2_000
MAX_BATCH = 10
LIMIT_CODE = "bad-request"
SIZE_ARGUMENTS = ("first", "count")  # a list field's size argument
NODES_PER_REQUEST = 100  # rate-limit charge: one request per started hundred nodes


@dataclass(frozen=True, slots=True)
class Cost:
    depth: int = 0
    aliases: int = 0
    root_fields: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            max(self.depth, other.depth),
            self.aliases + other.aliases,
            self.root_fields + other.root_fields,
        )


class _Measure:
    """Depth / alias / root-field count of selection sets, fragments expanded and memoized."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[str, Cost] = {}
        self.visiting: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None) -> Cost:
        total = Cost()
        if node is None:
            return total
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                # Introspection (`__schema`, `__type`) is as deep as the standard query needs; it
                # is bounded by the token limit and switched off in production.
                depth = 0 if selection.name.value.startswith("__") else 1 + inner.depth
                total += Cost(depth, inner.aliases + (1 if selection.alias else 0), 1)
            elif isinstance(selection, InlineFragmentNode):
                total += self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def fragment(self, name: str) -> Cost:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:  # unknown / cyclic: other rules report
            return Cost()
        self.visiting.add(name)
        cost = self.selection_set(definition.selection_set)
        self.visiting.discard(name)
        self.memo[name] = cost
        return cost


def operation_cost(document: DocumentNode, operation: OperationDefinitionNode) -> Cost:
    return _Measure(document).selection_set(operation.selection_set)


class _Nodes:
    """How many nodes an operation may return: list sizes multiplied through nesting."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = dict(variables or {})
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and definition.default_value is not None:
                self.variables[name] = value_from_ast_untyped(definition.default_value)
        self.memo: dict[str, int] = {}
        self.visiting: set[str] = set()

    def selection_set(self, node: SelectionSetNode | None, parent: GraphQLNamedType | None) -> int:
        total = 0
        if node is None:
            return total
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                scope = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(selection.selection_set, scope)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value)
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition = parent.fields.get(node.name.value)
        if definition is None:  # introspection, or unknown (validation reports it)
            return 0
        inner = self.selection_set(node.selection_set, get_named_type(definition.type))
        size = self.size(node, definition)
        return inner if size is None else size * (1 + inner)

    def size(self, node: FieldNode, definition: GraphQLField) -> int | None:
        for name in SIZE_ARGUMENTS:
            argument = definition.args.get(name)
            if argument is None:
                continue
            value: Any = argument.default_value
            given = next((a.value for a in node.arguments or () if a.name.value == name), None)
            if isinstance(given, IntValueNode):
                value = int(given.value)
            elif isinstance(given, VariableNode):
                value = self.variables.get(given.name.value, value)
            # A value that is not an int is refused by the resolver; count the default meanwhile.
            if not isinstance(value, int) or isinstance(value, bool):
                value = argument.default_value if isinstance(argument.default_value, int) else 1
            return max(0, int(value))
        return None

    def fragment(self, name: str) -> int:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:  # unknown / cyclic: validation reports
            return 0
        self.visiting.add(name)
        condition = self.schema.get_type(definition.type_condition.name.value)
        nodes = self.selection_set(definition.selection_set, condition)
        self.visiting.discard(name)
        self.memo[name] = nodes
        return nodes


def operation_nodes(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The most nodes ``operation`` can return (see the module's docstring)."""
    root = schema.get_root_type(operation.operation)
    return _Nodes(schema, document, operation, variables).selection_set(
        operation.selection_set, root
    )


def requests_for(nodes: int) -> int:
    """What an operation of ``nodes`` nodes costs in rate-limit requests."""
    return max(1, math.ceil(nodes / NODES_PER_REQUEST))


def limit_error(message: str, limit: str, node: Any = None) -> GraphQLError:
    return GraphQLError(
        message, node, extensions={"code": LIMIT_CODE, "status": 400, "limit": limit}
    )


def cost_rule(max_depth: int = MAX_DEPTH, max_aliases: int = MAX_ALIASES) -> type[ValidationRule]:
    """A validation rule rejecting operations deeper or with more aliases than allowed."""

    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            measure = _Measure(context.document)
            for definition in context.document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                cost = measure.selection_set(definition.selection_set)
                if cost.depth > max_depth:
                    context.report_error(
                        limit_error(
                            f"The operation is {cost.depth} levels deep; at most {max_depth}.",
                            "depth",
                            definition,
                        )
                    )
                if cost.aliases > max_aliases:
                    context.report_error(
                        limit_error(
                            f"The operation uses {cost.aliases} aliases (fragments expanded); "
                            f"at most {max_aliases}.",
                            "aliases",
                            definition,
                        )
                    )

    return QueryCostRule


class RateLimitOperations(SchemaExtension):
    """Refuse an operation that asks for too many nodes, or that is not named among several;
    charge the rest against the caller's rate limit by cost — before anything runs.

    The HTTP request already counted once when the principal was resolved (as for REST); this
    charges the rest: the further operations of a batch, the weight of a costly operation and
    the extra root fields of a mutation.
    """

    def __init__(self) -> None:
        self.cost: dict[str, int] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        ctx: GraphQLContext = execution.context
        document = execution.graphql_document
        # The name the client gave: Strawberry's ``operation_name`` falls back to the first
        # operation's name, and graphql-core would then run that one.
        given_name: str | None = getattr(
            execution, "_provided_operation_name", execution.operation_name
        )
        try:
            operation = _selected_operation(document, given_name)
            if document is not None and operation is not None:
                await self._charge(ctx, document, operation)
        except (QueryTooCostly, OperationNameRequired) as refused:
            execution.result = ExecutionResult(
                data=None, errors=[GraphQLError(refused.detail, original_error=refused)]
            )
        yield

    async def _charge(
        self, ctx: GraphQLContext, document: DocumentNode, operation: OperationDefinitionNode
    ) -> None:
        schema = self.execution_context.schema._schema  # graphql-core's schema under Strawberry's
        nodes = operation_nodes(schema, document, operation, self.execution_context.variables)
        limit = ctx.settings.graphql_max_nodes
        if nodes > limit:
            raise QueryTooCostly(
                f"This operation could return {nodes:,} nodes; at most {limit:,} per operation.",
                cost=nodes,
                limit=limit,
            )
        units = requests_for(nodes)
        self.cost = {"nodes": nodes, "requests": units, "limit": limit}
        if operation.operation is OperationType.MUTATION:
            units = max(units, operation_cost(document, operation).root_fields)
        extra = units - 1 if ctx.charge_first_operation() else units
        if extra > 0:
            await limit_principal(ctx.http_request, ctx.principal, cost=extra)
        if operation.operation is OperationType.MUTATION:  # the triggers need the actor
            await ctx.uow.act_as(actor_context(ctx.uow, ctx.principal))

    def get_results(self) -> dict[str, Any]:
        """``extensions.cost`` of the response: the operation's nodes and its charge."""
        return {"cost": self.cost} if self.cost is not None else {}


def _selected_operation(
    document: DocumentNode | None, name: str | None
) -> OperationDefinitionNode | None:
    if document is None:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        if len(operations) > 1:  # graphql-core would run the first; say which instead
            raise OperationNameRequired(
                f"The document holds {len(operations)} operations: give `operationName`."
            )
        return operations[0] if operations else None
    return next((o for o in operations if o.name and o.name.value == name), None)
