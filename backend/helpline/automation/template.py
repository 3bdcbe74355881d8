"""Reply templates: jinja2's sandbox, and a whitelist of what a template may contain.

jinja2's ``SandboxedEnvironment`` already refuses unsafe attributes (``__class__``,
``mro``, function globals …) at render time. A macro body is stored and rendered many times by
other people, so it is also checked when it is saved: the parsed template may only print
placeholders we know (``{{ ticket.title }}``) through a few harmless filters, and contain nothing
else — no statements (loops, ``set``, ``macro``, ``include``, ``import``), no calls, no
subscripts, no arithmetic — so there is no loop to bomb with and no object to walk. Rendering
uses ``StrictUndefined`` and stops at an output size.
"""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "ticket": ("id", "number", "title", "status", "priority", "tags", "created_at"),
    "customer": ("name", "email"),
    "agent": ("name", "email"),
}
FILTERS = frozenset({"default", "upper", "lower", "title", "trim", "capitalize", "join"})
MAX_OUTPUT = 100_000

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class TemplateProblem(ValueError):
    """What is wrong with a template: one entry per problem, each with a message."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _check(node: nodes.Node, problems: list[str]) -> None:
    if isinstance(node, nodes.Template | nodes.Output):
        for child in node.iter_child_nodes():
            _check(child, problems)
    elif isinstance(node, nodes.TemplateData | nodes.Const):
        return
    elif isinstance(node, nodes.Getattr):
        if not isinstance(node.node, nodes.Name):
            problems.append(f"only one level of attributes is allowed (.{node.attr})")
            return
        allowed = PLACEHOLDERS.get(node.node.name)
        if allowed is None or node.attr not in allowed:
            problems.append(f"unknown placeholder: {node.node.name}.{node.attr}")
    elif isinstance(node, nodes.Name):
        problems.append(
            f"unknown placeholder: {node.name}"
            if node.name not in PLACEHOLDERS
            else f"{node.name} needs a field, e.g. {node.name}.{PLACEHOLDERS[node.name][0]}"
        )
    elif isinstance(node, nodes.Filter):
        if node.name not in FILTERS:
            problems.append(f"filter not allowed: {node.name}")
        if node.node is not None:
            _check(node.node, problems)
        for arg in node.args:
            if not isinstance(arg, nodes.Const):
                problems.append(f"filter arguments must be constants ({node.name})")
        if node.kwargs or node.dyn_args or node.dyn_kwargs:
            problems.append(f"filter keyword arguments are not allowed ({node.name})")
    else:
        problems.append(f"not allowed in a template: {type(node).__name__.lower()}")


def validate(source: str) -> None:
    """Raise :class:`TemplateProblem` naming every unknown placeholder and forbidden construct."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem([f"syntax error on line {exc.lineno}: {exc.message}"]) from exc
    problems: list[str] = []
    _check(tree, problems)
    if problems:
        raise TemplateProblem(list(dict.fromkeys(problems)))


def render(source: str, context: dict[str, Any]) -> str:
    """Render a validated template (validated again: stored bodies may predate a rule)."""
    validate(source)
    try:
        text = _ENV.from_string(source).render({k: context.get(k, {}) for k in PLACEHOLDERS})
    except (UndefinedError, SecurityError) as exc:
        raise TemplateProblem([str(exc)]) from exc
    if len(text) > MAX_OUTPUT:
        raise TemplateProblem([f"the rendered text is longer than {MAX_OUTPUT} characters"])
    return text
