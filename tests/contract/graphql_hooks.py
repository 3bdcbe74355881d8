"""Schemathesis hooks for the GraphQL run (loaded through SCHEMATHESIS_HOOKS)."""

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

# Helpline's custom scalars: JSON (any JSON value) and DateTime (ISO 8601).
schemathesis.graphql.scalar(
    "JSON",
    st.one_of(
        st.integers(-1000, 1000).map(nodes.Int),
        st.text(max_size=20).map(nodes.String),
        st.booleans().map(nodes.Boolean),
    ),
)
schemathesis.graphql.scalar(
    "DateTime",
    st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(
        lambda d: nodes.String(d.isoformat())
    ),
)
