"""Schemathesis hooks of `cargo xtask schemathesis` (loaded with SCHEMATHESIS_HOOKS).

One check: a send the document's schema accepts may still be answered 400, but only for a
rule the document lists in the operation's `x-rules-beyond-schema` (a code and the JSON
pointer it names). Any other 400 on schema-valid data is a disagreement between the document
and the gateway, and fails the run. The built-in `positive_data_acceptance` is told to accept
400 on these operations (schemathesis.toml); this check keeps that 400 honest.
"""

import json
import re

import schemathesis


@schemathesis.check
def only_rules_beyond_the_schema(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    rules = case.operation.definition.raw.get("x-rules-beyond-schema")
    if rules is None:
        return None
    try:
        problem = json.loads(response.content)
    except ValueError as err:
        raise AssertionError(f"a 400 that is not a problem document: {err}") from err
    errors = problem.get("errors") or []
    if not errors:
        raise AssertionError(f"a 400 without errors[]: {problem.get('detail')}")
    unlisted = [
        f"{e.get('code')} at {e.get('path')!r}"
        for e in errors
        if not any(
            r["code"] == e.get("code") and re.fullmatch(r["pointer"], e.get("path", ""))
            for r in rules
        )
    ]
    if unlisted:
        raise AssertionError(
            "schema-valid data refused for rules the document does not list in "
            f"x-rules-beyond-schema: {', '.join(unlisted)} ({problem.get('type')}: "
            f"{problem.get('detail')})"
        )
    return None


# The send operations whose schema-valid data may name a channel the space has not connected.
SENDS = {"sendMessage", "sendBatch"}


@schemathesis.check
def only_channels_not_connected(ctx, response, case):
    """A send the schema accepts may be answered 422, but only as
    `/problems/channel-not-connected` (it names `instagram`, and the space has no Instagram
    account connected); any other 422 on schema-valid data is a disagreement."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if case.operation.definition.raw.get("operationId") not in SENDS:
        return None
    try:
        problem = json.loads(response.content)
    except ValueError as err:
        raise AssertionError(f"a 422 that is not a problem document: {err}") from err
    if not str(problem.get("type", "")).endswith("/problems/channel-not-connected"):
        raise AssertionError(
            f"schema-valid data refused with 422 {problem.get('type')}: {problem.get('detail')}"
        )
    return None
